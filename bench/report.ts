// The bench's output: the results document (bench/results/<timestamp>.json) and the side-by-side
// table with JabberX's ratios to Prosody and ejabberd.
import type { AccountWriteResult, ChatResult, IdleResult, LoginResult, PepResult, PresenceResult, RoomResult, Errors } from './scenarios.ts';
import type { BenchOptions } from './options.ts';

export interface ServerResult {
  name: string;
  version: string;
  tls?: { protocol: string; cipher: string };
  accounts?: { count: number; method: string; seconds: number; rosterSeedSeconds?: number; rosterSeed?: Record<string, number> };
  idle?: IdleResult;
  chat?: ChatResult[];
  login?: LoginResult;
  presence?: PresenceResult;
  register?: AccountWriteResult;
  password?: AccountWriteResult;
  room?: RoomResult;
  pep?: PepResult;
  skipped?: string;
  failures: string[];
  errors?: Errors;
}

export interface Results {
  startedAt: string;
  finishedAt: string;
  machine: Record<string, string | number>;
  options: BenchOptions;
  servers: Record<string, ServerResult>;
}

interface Row {
  label: string;
  /** true: higher is better (throughput); false: lower is better (memory, latency, CPU). */
  higherBetter: boolean;
  digits: number;
  get(r: ServerResult): number | undefined;
}

function rows(o: BenchOptions): Row[] {
  const out: Row[] = [];
  for (const [k, n] of o.idleLevels.entries()) {
    const lvl = (r: ServerResult) => r.idle?.levels[k];
    out.push({ label: `idle @${n}: KiB RSS per session`, higherBetter: false, digits: 1, get: (r) => num(lvl(r)?.perSessionBytes, 1 / 1024) });
    out.push({ label: `idle @${n}: server RSS MiB`, higherBetter: false, digits: 1, get: (r) => num(lvl(r)?.rssBytes, 1 / 2 ** 20) });
    out.push({ label: `idle @${n}: sessions connected`, higherBetter: true, digits: 0, get: (r) => lvl(r)?.sessions });
    out.push({ label: `idle @${n}: server CPU ms per login+roster`, higherBetter: false, digits: 2, get: (r) => lvl(r)?.serverCpuMsPerSession });
  }
  out.push({ label: `idle: server CPU % with all sessions idle`, higherBetter: false, digits: 2, get: (r) => r.idle?.idleCpuPercent });
  for (const [k, p] of o.chatPairs.entries()) {
    const c = (r: ServerResult) => r.chat?.[k];
    out.push({ label: `chat ${p} pairs: msg/s, 1 in flight per pair`, higherBetter: true, digits: 0, get: (r) => c(r)?.saturation.deliveredPerSec });
    out.push({ label: `chat ${p} pairs: p50 ms at saturation`, higherBetter: false, digits: 2, get: (r) => c(r)?.saturation.p50 });
    out.push({ label: `chat ${p} pairs: p99 ms at saturation`, higherBetter: false, digits: 2, get: (r) => c(r)?.saturation.p99 });
    out.push({ label: `chat ${p} pairs: server CPU % at saturation`, higherBetter: false, digits: 0, get: (r) => c(r)?.saturation.serverCpuPercent });
    out.push({ label: `chat ${p} pairs: p50 ms at ${o.chatRate} msg/s`, higherBetter: false, digits: 2, get: (r) => c(r)?.fixedRate.p50 });
    out.push({ label: `chat ${p} pairs: p99 ms at ${o.chatRate} msg/s`, higherBetter: false, digits: 2, get: (r) => c(r)?.fixedRate.p99 });
    out.push({ label: `chat ${p} pairs: server CPU % at ${o.chatRate} msg/s`, higherBetter: false, digits: 1, get: (r) => c(r)?.fixedRate.serverCpuPercent });
  }
  out.push({ label: 'login: logins/s (STARTTLS+SCRAM-SHA-1+bind)', higherBetter: true, digits: 0, get: (r) => r.login?.loginsPerSec });
  out.push({ label: 'login: p50 ms', higherBetter: false, digits: 1, get: (r) => r.login?.p50 });
  out.push({ label: 'login: p99 ms', higherBetter: false, digits: 1, get: (r) => r.login?.p99 });
  out.push({ label: 'login: server CPU ms per login', higherBetter: false, digits: 2, get: (r) => r.login?.serverCpuMsPerLogin });
  out.push({ label: `presence ${o.fanGroup - 1} contacts: stanzas/s delivered`, higherBetter: true, digits: 0, get: (r) => r.presence?.deliveredPerSec });
  out.push({ label: `presence: server CPU %`, higherBetter: false, digits: 0, get: (r) => r.presence?.serverCpuPercent });
  out.push({ label: 'register: registrations/s (STARTTLS+XEP-0077)', higherBetter: true, digits: 0, get: (r) => r.register?.perSec });
  out.push({ label: 'register: IQ p50 ms', higherBetter: false, digits: 1, get: (r) => r.register?.p50 });
  out.push({ label: 'register: IQ p99 ms', higherBetter: false, digits: 1, get: (r) => r.register?.p99 });
  out.push({ label: 'register: server CPU ms per registration', higherBetter: false, digits: 2, get: (r) => r.register?.serverCpuMsPer });
  out.push({ label: 'password: changes/s (XEP-0077 §3.3)', higherBetter: true, digits: 0, get: (r) => r.password?.perSec });
  out.push({ label: 'password: IQ p50 ms', higherBetter: false, digits: 1, get: (r) => r.password?.p50 });
  out.push({ label: 'password: IQ p99 ms', higherBetter: false, digits: 1, get: (r) => r.password?.p99 });
  out.push({ label: 'password: server CPU ms per change', higherBetter: false, digits: 2, get: (r) => r.password?.serverCpuMsPer });
  const room = `room ${o.roomOccupants}`;
  out.push({ label: `${room}: deliveries/s at ${o.roomRate} msg/s`, higherBetter: true, digits: 0, get: (r) => r.room?.fixedRate.deliveredPerSec });
  out.push({ label: `${room}: p50 ms at ${o.roomRate} msg/s`, higherBetter: false, digits: 2, get: (r) => r.room?.fixedRate.p50 });
  out.push({ label: `${room}: p99 ms at ${o.roomRate} msg/s`, higherBetter: false, digits: 2, get: (r) => r.room?.fixedRate.p99 });
  out.push({ label: `${room}: server CPU µs per delivery at ${o.roomRate} msg/s`, higherBetter: false, digits: 1, get: (r) => r.room?.fixedRate.serverCpuMicrosPerDelivery });
  out.push({ label: `${room}: deliveries/s at saturation`, higherBetter: true, digits: 0, get: (r) => r.room?.saturation.deliveredPerSec });
  out.push({ label: `${room}: p50 ms at saturation`, higherBetter: false, digits: 2, get: (r) => r.room?.saturation.p50 });
  out.push({ label: `${room}: p99 ms at saturation`, higherBetter: false, digits: 2, get: (r) => r.room?.saturation.p99 });
  out.push({ label: `${room}: server CPU µs per delivery at saturation`, higherBetter: false, digits: 1, get: (r) => r.room?.saturation.serverCpuMicrosPerDelivery });
  const pep = `pep ${o.pepUsers}×${o.pepContacts}`;
  out.push({ label: `${pep}: notifications/s at ${o.pepRate} publishes/s`, higherBetter: true, digits: 0, get: (r) => r.pep?.fixedRate.notificationsPerSec });
  out.push({ label: `${pep}: p50 ms publish → notification at ${o.pepRate}/s`, higherBetter: false, digits: 2, get: (r) => r.pep?.fixedRate.p50 });
  out.push({ label: `${pep}: p99 ms publish → notification at ${o.pepRate}/s`, higherBetter: false, digits: 2, get: (r) => r.pep?.fixedRate.p99 });
  out.push({ label: `${pep}: server CPU µs per publish at ${o.pepRate}/s`, higherBetter: false, digits: 0, get: (r) => r.pep?.fixedRate.serverCpuMicrosPerPublish });
  out.push({ label: `${pep}: publishes/s at saturation`, higherBetter: true, digits: 0, get: (r) => r.pep?.saturation.publishesPerSec });
  out.push({ label: `${pep}: notifications/s at saturation`, higherBetter: true, digits: 0, get: (r) => r.pep?.saturation.notificationsPerSec });
  out.push({ label: `${pep}: p99 ms at saturation`, higherBetter: false, digits: 2, get: (r) => r.pep?.saturation.p99 });
  out.push({ label: `${pep}: server CPU µs per publish at saturation`, higherBetter: false, digits: 0, get: (r) => r.pep?.saturation.serverCpuMicrosPerPublish });
  out.push({ label: `${pep}: server CPU µs per notification at saturation`, higherBetter: false, digits: 1, get: (r) => r.pep?.saturation.serverCpuMicrosPerNotification });
  return out;
}

function num(v: number | undefined, scale: number): number | undefined {
  return v === undefined ? undefined : v * scale;
}

function fmt(v: number | undefined, digits: number): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${(a / b).toFixed(2)}x`;
}

/** Plain-text table: one row per figure, JabberX / Prosody / ejabberd and the two ratios. */
export function table(res: Results): string {
  const names = ['jabberx', 'prosody', 'ejabberd'];
  const header = ['figure', ...names, 'JX/Prosody', 'JX/ejabberd'];
  const body: string[][] = [];
  for (const row of rows(res.options)) {
    const vals = names.map((n) => {
      const r = res.servers[n];
      return r ? row.get(r) : undefined;
    });
    if (vals.every((v) => v === undefined)) continue;
    body.push([row.label, ...vals.map((v) => fmt(v, row.digits)), ratio(vals[0], vals[1]), ratio(vals[0], vals[2])]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The same as a Markdown table, for bench/RESULTS.md. */
export function markdownTable(res: Results): string {
  const names = ['jabberx', 'prosody', 'ejabberd'];
  const out = ['| figure | JabberX | Prosody | ejabberd | JX/Prosody | JX/ejabberd |', '|---|---:|---:|---:|---:|---:|'];
  for (const row of rows(res.options)) {
    const vals = names.map((n) => {
      const r = res.servers[n];
      return r ? row.get(r) : undefined;
    });
    if (vals.every((v) => v === undefined)) continue;
    out.push(`| ${row.label} | ${vals.map((v) => fmt(v, row.digits)).join(' | ')} | ${ratio(vals[0], vals[1])} | ${ratio(vals[0], vals[2])} |`);
  }
  return out.join('\n');
}
