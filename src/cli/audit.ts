// `jabberx audit`: scans the data directory, database files and logs, byte by byte, for personal
// data left in plaintext: markers the operator planted (e.g. in test messages, vCards, roster
// names), IP-address-shaped and e-mail-shaped strings. A privacy check an operator can run at any
// time; findings are shown masked, so the report itself never repeats what it found.
import { createReadStream, type ReadStream } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { ServerConfig } from '../core/config.ts';

export type FindingKind = 'marker' | 'ip' | 'email';

export interface Finding {
  file: string;
  kind: FindingKind;
  /** How it was found: the marker's encoding ("utf-8", "utf-16le", "base64"), "IPv4", "IPv6" or "e-mail or JID". */
  detail: string;
  /** Masked: first and last character only, e.g. "2…7". */
  sample: string;
  /** Byte offset in the file (for .gz files, in the decompressed content). */
  offset: number;
}

export interface AuditOptions {
  /** Strings to look for, at least 3 bytes each: in UTF-8 (any ASCII case), UTF-16LE, and base64. */
  markers: string[];
  /** Which kinds to report; default all three. */
  kinds?: readonly FindingKind[];
  /** Values never reported (compared case-insensitively), e.g. a hosted domain that is an IP literal. */
  allow?: readonly string[];
  /** Findings reported per file at most (default 100); the scan of that file stops there. */
  maxPerFile?: number;
  /** Told about every path that was not scanned, and why (missing, unreadable, symlink, socket…). */
  onSkip?: (path: string, reason: string) => void;
  /** Files left out on purpose (absolute path -> why), reported through onSkip. */
  exclude?: ReadonlyMap<string, string>;
}

/** Hits must lie within this many bytes of their start; the chunk overlap is at least this. */
const MIN_CONTEXT = 1024;
const CHUNK = 1 << 20;

/** The shape of an e-mail local part (RFC 5321 dot-atom, the common characters) and of a host name. */
const LOCAL = /[A-Za-z0-9._%+-]/;
const DOMAIN = /[A-Za-z0-9.-]/;
/** A maximal run of the characters an IPv6 address is written with. */
const V6_RUN = /[0-9A-Fa-f:.]{3,}/g;
const V4 = /(?<![0-9.])(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?![0-9]|\.[0-9])/g;
/** A letter just before or after a hex run means it is part of a word (e.g. "std::string"). */
const WORDISH = /[G-Zg-z_]/;

/** Shows only the first and last character. */
export function mask(value: string): string {
  if (value.length <= 2) return '…';
  return `${value[0]}…${value[value.length - 1]}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/**
 * Base64 of the marker at each of the three byte alignments, without the characters that also
 * depend on neighbouring bytes: what any base64 text containing the marker must contain.
 */
function base64Cores(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const padded = Buffer.concat([Buffer.alloc(shift), bytes]);
    const b64 = padded.toString('base64').replace(/=+$/, '');
    // Character i covers bits [6i, 6i+6) of padded; keep those entirely inside the marker.
    const first = Math.ceil((shift * 8) / 6);
    const last = Math.floor(((shift + bytes.length) * 8) / 6) - 1;
    const core = b64.slice(first, last + 1);
    if (core.length >= 6) out.push(core);
  }
  return out;
}

interface MarkerPattern {
  text: string;
  encoding: string;
  marker: number;
}

/** One scan over a file's bytes as latin1 text (one char per byte, so indexes are byte offsets). */
class Scanner {
  readonly #markersCi: RegExp | undefined;
  readonly #markersCs: RegExp | undefined;
  readonly #byText = new Map<string, MarkerPattern>();
  readonly #markers: string[];
  readonly #kinds: Set<FindingKind>;
  readonly #allow: Set<string>;
  readonly context: number;

  constructor(opts: AuditOptions) {
    this.#markers = opts.markers;
    this.#kinds = new Set(opts.kinds ?? ['marker', 'ip', 'email']);
    this.#allow = new Set((opts.allow ?? []).map((a) => a.toLowerCase()));
    const ci: MarkerPattern[] = [];
    const cs: MarkerPattern[] = [];
    opts.markers.forEach((m, i) => {
      const utf8 = Buffer.from(m, 'utf8');
      if (utf8.length < 3) throw new RangeError(`marker ${i + 1} is too short: at least 3 bytes, or everything matches`);
      ci.push({ text: utf8.toString('latin1'), encoding: 'utf-8', marker: i });
      ci.push({ text: Buffer.from(m, 'utf16le').toString('latin1'), encoding: 'utf-16le', marker: i });
      for (const core of base64Cores(utf8)) {
        cs.push({ text: core, encoding: 'base64', marker: i });
        const url = core.replace(/\+/g, '-').replace(/\//g, '_');
        if (url !== core) cs.push({ text: url, encoding: 'base64url', marker: i });
      }
    });
    let longest = 0;
    const compile = (list: MarkerPattern[], flags: string, key: (s: string) => string): RegExp | undefined => {
      if (list.length === 0 || !this.#kinds.has('marker')) return undefined;
      // Longest first, so a marker that contains another is reported as itself.
      const sorted = [...list].sort((a, b) => b.text.length - a.text.length);
      for (const p of sorted) {
        if (!this.#byText.has(key(p.text))) this.#byText.set(key(p.text), p);
        longest = Math.max(longest, p.text.length);
      }
      return new RegExp(sorted.map((p) => escapeRegExp(p.text)).join('|'), flags);
    };
    this.#markersCi = compile(ci, 'gi', (s) => `i:${s.toLowerCase()}`);
    this.#markersCs = compile(cs, 'g', (s) => `s:${s}`);
    this.context = Math.max(MIN_CONTEXT, longest + 64);
  }

  /**
   * Reports hits that start in [from, to) of text; text extends at least `context` characters
   * beyond both ends unless the file starts or ends there.
   */
  scan(text: string, from: number, to: number, emit: (kind: FindingKind, detail: string, value: string, index: number) => boolean): boolean {
    const allowed = (v: string) => this.#allow.has(v.toLowerCase());
    const regexHits = (re: RegExp | undefined, key: (s: string) => string): boolean => {
      if (!re) return true;
      re.lastIndex = Math.max(0, from);
      for (let m = re.exec(text); m && m.index < to; m = re.exec(text)) {
        const p = this.#byText.get(key(m[0]));
        const marker = this.#markers[p?.marker ?? -1] ?? m[0];
        if (!emit('marker', p?.encoding ?? 'utf-8', marker, m.index)) return false;
      }
      return true;
    };
    if (!regexHits(this.#markersCi, (s) => `i:${s.toLowerCase()}`)) return false;
    if (!regexHits(this.#markersCs, (s) => `s:${s}`)) return false;

    if (this.#kinds.has('ip')) {
      const v6Ranges: [number, number][] = [];
      // IPv6: maximal runs of hex digits, colons and dots, checked by the platform's parser. A run
      // that began before `from` was reported by the previous window; it is read again whole, only
      // so that an IPv4 tail inside it isn't reported on its own.
      let runStart = from;
      while (runStart > 0 && from - runStart < 64 && /[0-9A-Fa-f:.]/.test(text[runStart - 1] ?? '')) runStart--;
      V6_RUN.lastIndex = runStart;
      for (let m = V6_RUN.exec(text); m && m.index < to; m = V6_RUN.exec(text)) {
        const run = m[0].replace(/\.+$/, '');
        const colons = run.split(':').length - 1;
        if (colons < 2 || isIP(run) !== 6) continue;
        const before = text[m.index - 1] ?? '';
        const after = text[m.index + m[0].length] ?? '';
        if (WORDISH.test(before) || WORDISH.test(after) || !texty(text, m.index, m.index + run.length)) continue;
        v6Ranges.push([m.index, m.index + run.length]);
        if (m.index >= from && !allowed(run) && !emit('ip', 'IPv6', run, m.index)) return false;
      }
      V4.lastIndex = Math.max(0, from);
      for (let m = V4.exec(text); m && m.index < to; m = V4.exec(text)) {
        if (m[0] === '0.0.0.0' || allowed(m[0])) continue;
        const at = m.index;
        if (v6Ranges.some(([a, b]) => at >= a && at < b)) continue; // ::ffff:192.0.2.1 is reported once, as IPv6
        if (!emit('ip', 'IPv4', m[0], at)) return false;
      }
    }

    if (this.#kinds.has('email')) {
      // From each "@", grow the local part left and the domain right, then check their shape.
      for (let at = text.indexOf('@', Math.max(0, from)); at >= 0 && at < to + 64; at = text.indexOf('@', at + 1)) {
        let start = at;
        while (start > 0 && at - start < 64 && LOCAL.test(text[start - 1] ?? '')) start--;
        while (text[start] === '.') start++;
        let end = at + 1;
        while (end < text.length && end - at <= 253 && DOMAIN.test(text[end] ?? '')) end++;
        while (end > at + 1 && /[.-]/.test(text[end - 1] ?? '')) end--;
        if (start >= at || start < from || start >= to) continue;
        const value = text.slice(start, end);
        if (!emailShaped(value) || !texty(text, start, end) || allowed(value)) continue;
        if (!emit('email', 'e-mail or JID', value, start)) return false;
      }
    }
    return true;
  }
}

function printable(code: number): boolean {
  return (code >= 0x20 && code < 0x7f) || code === 0x09 || code === 0x0a || code === 0x0d;
}

/**
 * Whether a hit sits in text: at least 3 in 4 of the 16 bytes on one side of it are printable
 * ASCII (a side cut by the start or end of the file counts as text). Short address shapes such
 * as "a@b.cd" or "::1" turn up by chance in random bytes (encrypted values, compressed data);
 * there only about a third of the bytes are printable, while logs, JSON and the text columns
 * next to a database value are nearly all printable.
 */
function texty(text: string, start: number, end: number): boolean {
  const side = (from: number, to: number): boolean => {
    const a = Math.max(0, from);
    const b = Math.min(text.length, to);
    let ok = (a - from) + (to - b); // cut off: counts as text
    for (let i = a; i < b; i++) if (printable(text.charCodeAt(i))) ok++;
    return ok >= 12;
  };
  return side(start - 16, start) || side(end, end + 16);
}

function emailShaped(value: string): boolean {
  const at = value.indexOf('@');
  const local = value.slice(0, at);
  const labels = value.slice(at + 1).split('.');
  if (local.length < 1 || local.length > 64 || labels.length < 2) return false;
  if (!labels.every((l) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l))) return false;
  const tld = labels[labels.length - 1] ?? '';
  return /^[A-Za-z]{2,24}$/.test(tld) || /^xn--[a-z0-9-]+$/i.test(tld);
}

/** Scans a byte stream with overlapping windows, so hits across chunk borders are found once. */
async function scanStream(stream: AsyncIterable<Buffer>, scanner: Scanner, limit: number, emit: (kind: FindingKind, detail: string, value: string, offset: number) => void): Promise<void> {
  const L = scanner.context;
  let text = '';
  let textStart = 0; // file offset of text[0]
  let acceptFrom = 0; // index in text where the not yet scanned part begins
  let count = 0;
  const report = (kind: FindingKind, detail: string, value: string, index: number): boolean => {
    emit(kind, detail, value, textStart + index);
    return ++count < limit;
  };
  for await (const chunk of stream) {
    text += chunk.toString('latin1');
    const acceptTo = text.length - L;
    if (acceptTo <= acceptFrom) continue;
    if (!scanner.scan(text, acceptFrom, acceptTo, report)) return;
    const drop = Math.max(0, acceptTo - L);
    text = text.slice(drop);
    textStart += drop;
    acceptFrom = acceptTo - drop;
  }
  scanner.scan(text, acceptFrom, text.length, report);
}

function openFile(file: string): { stream: AsyncIterable<Buffer>; gz: boolean; close(): void } {
  const raw: ReadStream = createReadStream(file, { highWaterMark: CHUNK });
  if (!file.endsWith('.gz')) return { stream: raw, gz: false, close: () => raw.destroy() };
  // Rotated logs are often gzipped: scan what they contain, not their compressed bytes.
  const gunzip = createGunzip();
  raw.on('error', (e) => gunzip.destroy(e));
  return {
    stream: raw.pipe(gunzip),
    gz: true,
    close: () => {
      raw.destroy();
      gunzip.destroy();
    },
  };
}

async function* walk(path: string, top: boolean, onSkip: (path: string, reason: string) => void): AsyncGenerator<string> {
  let st;
  try {
    // A path given by the caller may be a symlink (e.g. a log file); inside folders, links aren't followed.
    st = top ? await stat(path) : await lstat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    onSkip(path, code === 'ENOENT' ? 'does not exist' : `cannot read it (${code ?? String(e)})`);
    return;
  }
  if (st.isSymbolicLink()) onSkip(path, 'symbolic link, not followed');
  else if (st.isDirectory()) {
    let names: string[];
    try {
      names = (await readdir(path)).sort();
    } catch (e) {
      onSkip(path, `cannot list it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      return;
    }
    for (const name of names) yield* walk(join(path, name), false, onSkip);
  } else if (st.isFile()) yield path;
  else onSkip(path, st.isSocket() ? 'socket' : 'not a regular file');
}

/**
 * Scans files and folders (recursively) for the markers, IP-address-shaped and e-mail-shaped
 * strings. Everything is read as bytes, so database pages, WAL frames and binary files are
 * covered; certificates and keys are scanned too (their PEM base64 can't look like an address).
 */
export async function auditPaths(paths: string[], opts: AuditOptions): Promise<Finding[]> {
  const scanner = new Scanner(opts);
  const limit = opts.maxPerFile ?? 100;
  const onSkip = opts.onSkip ?? (() => undefined);
  const seen = new Set<string>();
  const findings: Finding[] = [];
  for (const p of paths) {
    for await (const file of walk(resolve(p), true, onSkip)) {
      if (seen.has(file)) continue;
      seen.add(file);
      const excluded = opts.exclude?.get(file);
      if (excluded !== undefined) {
        onSkip(file, excluded);
        continue;
      }
      const { stream, gz, close } = openFile(file);
      const inFile: Finding[] = [];
      try {
        await scanStream(stream, scanner, limit, (kind, detail, value, offset) => {
          inFile.push({ file, kind, detail: gz ? `${detail}, gzip` : detail, sample: mask(value), offset });
        });
      } catch (e) {
        onSkip(file, `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      } finally {
        close();
        findings.push(...inFile.sort((a, b) => a.offset - b.offset));
      }
    }
  }
  return findings;
}

/** What `jabberx audit` scans: the data directory, the database and its side files, the log file. */
export function auditTargets(config: ServerConfig): string[] {
  const db = config.storage.path;
  const targets = [config.data_dir, db, `${db}-wal`, `${db}-shm`, `${db}-journal`];
  if (config.log.file !== '-') targets.push(config.log.file);
  // Side files that don't exist are normal (no WAL after a clean close): only existing ones matter.
  return [...new Set(targets)];
}

/** One line per finding, for the terminal. */
export function formatFinding(f: Finding): string {
  return `${f.file}: ${f.kind} (${f.detail}) at byte ${f.offset}: ${f.sample}`;
}

/**
 * The whole command: scans the configured locations, writes findings and skipped paths, and
 * returns the exit code (1 when anything was found).
 */
export async function runAudit(config: ServerConfig, markers: string[], write: (line: string) => void, kinds?: readonly FindingKind[]): Promise<number> {
  const targets = auditTargets(config);
  const explicit = new Set(targets.slice(1)); // the data dir must exist; side files and logs may not
  const findings = await auditPaths(targets, {
    markers,
    ...(kinds ? { kinds } : {}),
    allow: [...config.hosts.keys()],
    // The failed-login log holds addresses by design (the policy's one exception, kept short).
    exclude: new Map(config.log.failed_login_file ? [[config.log.failed_login_file, 'the failed-login log (log.failed_login_file) holds addresses by design']] : []),
    onSkip: (path, reason) => {
      if (reason === 'does not exist' && explicit.has(path)) return;
      write(`skipped ${path}: ${reason}`);
    },
  });
  for (const f of findings) write(formatFinding(f));
  const files = new Set(findings.map((f) => f.file)).size;
  write(findings.length === 0 ? 'audit: nothing found' : `audit: ${findings.length} finding(s) in ${files} file(s)`);
  return findings.length === 0 ? 0 : 1;
}
