// Human-readable log lines for a terminal (log.format: pretty, or auto on a TTY): each JSON line
// pino writes is turned into "[time] LEVEL: component: message" plus its fields, by pino-pretty's
// formatter, and handed to the same failure-proof sink as JSON lines would be (so a closed
// terminal still only drops and counts lines). Redaction happened before: the content is the same.
import pinoPretty from 'pino-pretty';
import type { DestinationStream } from 'pino';

export type LogFormat = 'auto' | 'pretty' | 'json';

/** Whether lines are prettified: `auto` means standard output on a terminal. */
export function prettyWanted(format: LogFormat, file: string, stdoutIsTty = process.stdout.isTTY === true): boolean {
  if (format === 'auto') return file === '-' && stdoutIsTty;
  return format === 'pretty';
}

export class PrettySink implements DestinationStream {
  readonly #out: DestinationStream;
  readonly #format: (line: string) => string;

  /** `colors`: ANSI colours, for a terminal only (never into a file). */
  constructor(out: DestinationStream, colors: boolean) {
    this.#out = out;
    this.#format = pinoPretty.prettyFactory({
      colorize: colors,
      translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
      messageFormat: '{if component}{component}: {end}{msg}',
      ignore: 'component',
      singleLine: false,
    });
  }

  write(line: string): void {
    let text: string;
    try {
      text = this.#format(line);
    } catch {
      text = line; // never lose a line to the formatter
    }
    this.#out.write(text);
  }
}
