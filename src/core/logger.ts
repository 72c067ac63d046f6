// Structured logging (pino). Privacy rule: never an IP address, a message body or a password;
// stanzas are logged by their top tag only (Element.topTag()).
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export interface LogOptions {
  level: string;
  /** "-" for stdout, else an absolute file path. */
  file: string;
}

export function createLogger(opts: LogOptions): Logger {
  const dest: DestinationStream =
    opts.file === '-' ? pino.destination({ fd: 1, sync: false }) : pino.destination({ dest: opts.file, mkdir: true, sync: false });
  return pino(
    {
      level: opts.level,
      base: undefined, // no pid/hostname noise
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Defence in depth: redact fields that could ever carry secrets or addresses.
      redact: { paths: ['password', '*.password', 'ip', '*.ip', 'remoteAddress', '*.remoteAddress', 'body', '*.body'], censor: '[redacted]' },
    },
    dest,
  );
}
