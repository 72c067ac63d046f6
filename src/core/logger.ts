// Structured logging (pino). Privacy rule: never an IP address, a message body or a password;
// stanzas are logged by their top tag only (Element.topTag()). Debug output can be switched on
// at run time into its own file, which is deleted when it is switched off (see DebugLog).
//
// A log sink that fails (full disk, a closed pipe, a file that can't be opened) never takes the
// server or the code that logged down: lines that can't be written are dropped and counted
// (droppedLogLines()), standard error hears once that the sink failed and once that it works
// again, and the sink is tried again a second later.
import { Buffer } from 'node:buffer';
import { closeSync, mkdirSync, openSync, rmSync, write, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger, type DestinationStream, type Level } from 'pino';
import { PrettySink, prettyWanted, type LogFormat } from './pretty-log.ts';

export type { Logger };

export interface LogOptions {
  level: string;
  /** "-" for stdout, else an absolute file path. */
  file: string;
  /** log.format: JSON lines, or human-readable ones (src/core/pretty-log.ts); default `auto`. */
  format?: LogFormat;
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** Log lines dropped because a sink failed or fell too far behind, by every sink of this process. */
let dropped = 0;

/** Log lines lost to failing sinks since the process started (for status output). */
export function droppedLogLines(): number {
  return dropped;
}

/** Lines in a chunk of log output (each pino line ends in a newline). */
function lineCount(chunk: Buffer): number {
  let n = 0;
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  return Math.max(n, 1);
}

/** A one-line notice on standard error about a sink; never throws (stderr may be gone too). */
function notice(text: string): void {
  try {
    writeSync(2, `jabberx: ${text}\n`);
  } catch {
    // nowhere left to say it
  }
}

/** Bytes a sink may hold while the disk or pipe is slow; past this, lines are dropped (and counted). */
const MAX_PENDING_BYTES = 4 << 20;
/** After a failure, lines are dropped for this long before the sink is tried again. */
const RETRY_AFTER_MS = 1000;
/** EAGAIN on a non-blocking pipe: the reader is slow, not gone. */
const AGAIN_DELAY_MS = 10;

const liveSinks = new Set<SafeSink>();
let exitHookInstalled = false;

/**
 * The main log output: asynchronous writes to a file descriptor (stdout or a file), with a bounded
 * buffer. Unlike pino.destination (SonicBoom), a write error is not an 'error' event that crashes
 * the process when unhandled, and the failed bytes are not retried forever while memory grows.
 */
export class SafeSink implements DestinationStream {
  readonly #label: string;
  #fd: number | undefined;
  readonly #ownsFd: boolean;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #inFlight = false;
  #failedUntil = 0;
  #failing = false;
  #droppedWhileFailing = 0;

  /** target: a file descriptor (1 = stdout) or a file path, opened for appending (mode 0600). */
  constructor(target: number | string) {
    if (typeof target === 'number') {
      this.#label = target === 1 ? 'standard output' : `file descriptor ${target}`;
      this.#fd = target;
      this.#ownsFd = false;
    } else {
      this.#label = 'the log file';
      this.#ownsFd = true;
      try {
        mkdirSync(dirname(target), { recursive: true });
        this.#fd = openSync(target, 'a', 0o600);
      } catch (err) {
        // The server still starts; its log goes to standard error instead.
        notice(`cannot open the log file ${target} (${codeOf(err)}); logging to standard error`);
        this.#label = 'standard error';
        this.#fd = 2;
        this.#ownsFd = false;
      }
    }
    liveSinks.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const sink of liveSinks) sink.flushSync();
      });
    }
  }

  write(line: string): void {
    if (this.#fd === undefined || Date.now() < this.#failedUntil) {
      this.#drop(1);
      return;
    }
    const bytes = Buffer.from(line, 'utf8');
    if (this.#pendingBytes + bytes.length > MAX_PENDING_BYTES) {
      this.#drop(1);
      return;
    }
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    this.#pump();
  }

  #drop(lines: number): void {
    dropped += lines;
    this.#droppedWhileFailing += lines;
  }

  #pump(): void {
    const fd = this.#fd;
    if (this.#inFlight || fd === undefined || this.#pending.length === 0) return;
    const chunk = this.#pending.length === 1 ? (this.#pending[0] as Buffer) : Buffer.concat(this.#pending);
    this.#pending = [chunk];
    this.#inFlight = true;
    write(fd, chunk, 0, chunk.length, null, (err, written) => {
      this.#inFlight = false;
      if (err) {
        if (err.code === 'EAGAIN' || err.code === 'EINTR') {
          this.#inFlight = true;
          setTimeout(() => {
            this.#inFlight = false;
            this.#pump();
          }, AGAIN_DELAY_MS).unref();
          return;
        }
        this.#fail(err);
        return;
      }
      this.#wrote();
      // What is pending now is the unwritten rest of this chunk, then lines that came meanwhile.
      const rest = chunk.subarray(written);
      const later = this.#pending.slice(1);
      this.#pending = rest.length > 0 ? [rest, ...later] : later;
      this.#pendingBytes = this.#pending.reduce((n, b) => n + b.length, 0);
      this.#pump();
    });
  }

  #fail(err: NodeJS.ErrnoException): void {
    let lines = 0;
    for (const b of this.#pending) lines += lineCount(b);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#drop(lines);
    this.#failedUntil = Date.now() + RETRY_AFTER_MS;
    if (!this.#failing) {
      this.#failing = true;
      notice(`writing to ${this.#label} failed (${codeOf(err)}); log lines are dropped (and counted) until it works again`);
    }
  }

  #wrote(): void {
    if (!this.#failing) return;
    this.#failing = false;
    notice(`writing to ${this.#label} works again; ${this.#droppedWhileFailing} log line(s) were dropped`);
    this.#droppedWhileFailing = 0;
  }

  /**
   * Writes what is pending at once (at exit); gives up quietly on any error. A chunk already
   * handed to an asynchronous write is left to it; only what came after is written here.
   */
  flushSync(): void {
    const fd = this.#fd;
    const waiting = this.#inFlight ? this.#pending.slice(1) : this.#pending;
    if (fd === undefined || waiting.length === 0) return;
    const chunk = Buffer.concat(waiting);
    this.#pending = this.#pending.slice(0, this.#pending.length - waiting.length);
    this.#pendingBytes = this.#pending.reduce((n, b) => n + b.length, 0);
    try {
      writeSync(fd, chunk);
    } catch {
      this.#drop(lineCount(chunk));
    }
  }

  /** Flushes and closes (a file it opened). Further lines are dropped. */
  end(): void {
    this.flushSync();
    liveSinks.delete(this);
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd !== undefined && this.#ownsFd && !this.#inFlight) {
      try {
        closeSync(fd);
      } catch {
        // already gone
      }
    }
  }
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}

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
    if (this.#fd === undefined) return;
    try {
      writeSync(this.#fd, line);
    } catch {
      // A full disk must not fail the code that logged: the line is dropped and counted.
      dropped++;
    }
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
  const sink = new SafeSink(opts.file === '-' ? 1 : opts.file);
  const main: DestinationStream = prettyWanted(opts.format ?? 'auto', opts.file)
    ? new PrettySink(sink, opts.file === '-' && process.stdout.isTTY === true)
    : sink;
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
