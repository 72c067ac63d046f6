// Structured logging (pino). Privacy rule: never an IP address, a message body or a password;
// stanzas are logged by their top tag only (Element.topTag()). Debug output can be switched on
// at run time into its own file, which is deleted when it is switched off (see DebugLog).
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { pino, type Logger, type DestinationStream, type Level } from 'pino';

export type { Logger };

export interface LogOptions {
  level: string;
  /** "-" for stdout, else an absolute file path. */
  file: string;
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/**
 * The on-demand debug log: a file that exists only while debug logging is on. Writes are
 * synchronous so that "off" leaves nothing half-written behind before the file is deleted.
 */
export class DebugLog implements DestinationStream {
  readonly path: string;
  #fd: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #until: number | undefined;

  constructor(path: string) {
    this.path = path;
    // A debug file left by a crash is removed at start: debug logs never outlive their session.
    rmSync(path, { force: true });
  }

  get enabled(): boolean {
    return this.#fd !== undefined;
  }

  /** When debug logging ends by itself (ms since epoch), if a limit was given. */
  get until(): number | undefined {
    return this.#until;
  }

  on(forMs?: number): void {
    this.#fd ??= openSync(this.path, 'a', 0o600);
    clearTimeout(this.#timer);
    this.#until = forMs ? Date.now() + forMs : undefined;
    if (forMs) {
      this.#timer = setTimeout(() => this.off(), forMs);
      this.#timer.unref();
    }
  }

  /** Stops debug logging and deletes the file. */
  off(): void {
    clearTimeout(this.#timer);
    this.#until = undefined;
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    rmSync(this.path, { force: true });
  }

  write(line: string): void {
    if (this.#fd !== undefined) writeSync(this.#fd, line);
  }
}

const IPV4 = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])/g;
const IPV6 = /(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])/gi;

/** Masks anything shaped like an IP address (error messages from sockets can carry one). */
export function scrubAddresses(text: string): string {
  return text.replace(IPV4, '[address]').replace(IPV6, (m) => (/[0-9a-f]/i.test(m) && m.includes('::') || m.split(':').length > 3 ? '[address]' : m));
}

/** Errors are logged with message and stack scrubbed of addresses, and without socket details. */
function errorSerializer(err: unknown): Record<string, unknown> {
  const e = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { type: e['type'], message: scrubAddresses(String(e['message'] ?? '')) };
  if (typeof e['stack'] === 'string') out['stack'] = scrubAddresses(e['stack']);
  if (typeof e['code'] === 'string') out['code'] = e['code'];
  return out;
}

export function createLogger(opts: LogOptions, debug?: DebugLog): Logger {
  const main: DestinationStream =
    opts.file === '-' ? pino.destination({ fd: 1, sync: false }) : pino.destination({ dest: opts.file, mkdir: true, sync: false });
  const configured = (opts.level === 'silent' ? 'fatal' : opts.level) as Level;
  const streams: { level: Level; stream: DestinationStream }[] = [];
  if (opts.level !== 'silent') streams.push({ level: configured, stream: main });
  if (debug) streams.push({ level: 'debug', stream: debug });
  // The logger emits down to debug when a debug file may be switched on; each stream filters.
  const level = debug && (LEVELS[opts.level] ?? 30) > LEVELS['debug']! ? 'debug' : opts.level;
  return pino(
    {
      level,
      base: undefined, // no pid/hostname noise
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: errorSerializer },
      // Defence in depth: redact fields that could ever carry secrets or addresses.
      redact: { paths: ['password', '*.password', 'ip', '*.ip', 'remoteAddress', '*.remoteAddress', 'peerAddress', '*.peerAddress', 'body', '*.body'], censor: '[redacted]' },
    },
    pino.multistream(streams),
  );
}
