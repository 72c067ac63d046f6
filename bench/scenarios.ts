// The measurements, run against one started server through the worker pool: idle sessions
// (memory per session), one-to-one chat (throughput and latency), login rate (TCP + STARTTLS +
// SCRAM-SHA-1 + bind), presence fan-out (RFC 6121 §4 broadcast), in-band registration and
// password change (XEP-0077), a multi-user chat room's fan-out (XEP-0045) and personal eventing
// notifications (XEP-0163).
import { idleUser, type RosterPlan } from './accounts.ts';
import { Histogram } from './histogram.ts';
import type { BenchOptions } from './options.ts';
import { machineCpu, sampleTree } from './proc-stats.ts';
import type { BenchServer } from './servers/common.ts';
import { split, type WorkerPool } from './worker-pool.ts';
import type { ErrorReport } from './load-worker.ts';
import { capsVer } from '../src/lib/caps-ver.ts';

export interface Ctx {
  opts: BenchOptions;
  server: BenchServer;
  pool: WorkerPool;
  log(msg: string): void;
}

export interface Window {
  wallSeconds: number;
  serverCpuSeconds: number;
  generatorCpuSeconds: number;
  /** Everything else the machine ran meanwhile (other helpers' tests, the orchestrator), CPU seconds. */
  otherCpuSeconds: number;
}

export interface Errors {
  counts: Record<string, number>;
  samples: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const pct = (cpu: number, wall: number) => (wall > 0 ? (100 * cpu) / wall : 0);

function mergeErrors(into: Errors, reports: Array<{ errors?: ErrorReport }>): Errors {
  for (const r of reports) {
    if (!r.errors) continue;
    for (const [k, n] of Object.entries(r.errors.counts)) into.counts[k] = (into.counts[k] ?? 0) + n;
    for (const s of r.errors.samples) if (into.samples.length < 12) into.samples.push(s);
  }
  return into;
}

/**
 * Run `fn` and account the CPU the server, the generator and everything else used meanwhile;
 * with `window`, only during [warm-up end, warm-up end + duration], the workers' own window.
 */
async function measured<T>(ctx: Ctx, fn: () => Promise<T>, window?: { warmupMs: number; durationMs: number }): Promise<{ r: T; w: Window }> {
  const snap = () => ({ s: sampleTree(ctx.server.pid).cpu, g: ctx.pool.sample().cpu, m: machineCpu().busy, t: performance.now() });
  let a = snap();
  let b: ReturnType<typeof snap> | undefined;
  const running = fn();
  if (window) {
    await sleep(window.warmupMs);
    a = snap();
    await sleep(window.durationMs);
    b = snap();
  }
  const r = await running;
  b ??= snap();
  const wallSeconds = (b.t - a.t) / 1000;
  const serverCpuSeconds = b.s - a.s;
  const generatorCpuSeconds = b.g - a.g;
  const otherCpuSeconds = Math.max(0, b.m - a.m - serverCpuSeconds - generatorCpuSeconds);
  return { r, w: { wallSeconds, serverCpuSeconds, generatorCpuSeconds, otherCpuSeconds } };
}

/** Wait until the server has used under 2 % of a core for a full second (or give up after maxMs). */
export async function settle(ctx: Ctx, maxMs = 30000): Promise<number> {
  const t0 = performance.now();
  let last = sampleTree(ctx.server.pid).cpu;
  let quiet = 0;
  while (performance.now() - t0 < maxMs) {
    await sleep(500);
    const now = sampleTree(ctx.server.pid).cpu;
    quiet = now - last < 0.01 ? quiet + 1 : 0;
    last = now;
    if (quiet >= 2) break;
  }
  return (performance.now() - t0) / 1000;
}

/** Median of three RSS readings a moment apart (allocators and GCs make single readings jumpy). */
async function serverRss(ctx: Ctx): Promise<number> {
  const r: number[] = [];
  for (let i = 0; i < 3; i++) {
    r.push(sampleTree(ctx.server.pid).rss);
    if (i < 2) await sleep(500);
  }
  return r.sort((a, b) => a - b)[1] as number;
}

// ------------------------------------------------------------------ roster seeding

/**
 * Build the planned rosters over XMPP, for a server whose storage the bench cannot write:
 * roster sets for the idle users, subscription handshakes (RFC 6121 §3.1) for the clique.
 */
export async function seedOverXmpp(ctx: Ctx, plan: RosterPlan): Promise<Record<string, number>> {
  const { opts, pool } = ctx;
  const out: Record<string, number> = {};
  if (plan.idleUsers) {
    const t0 = performance.now();
    const parts = split(Array.from({ length: plan.idleUsers }, (_, i) => i), pool.size);
    const r = await pool.all<{ rosterSets: number; failed: number; errors: ErrorReport }>('seedRosters', (w) => ({
      users: parts[w],
      pool: plan.idleUsers,
      rosterSize: plan.idleSize,
      concurrency: opts.idleConcurrency,
    }));
    out['rosterSets'] = r.reduce((n, x) => n + x.rosterSets, 0);
    out['rosterSeedFailed'] = r.reduce((n, x) => n + x.failed, 0);
    out['rosterSeedSeconds'] = (performance.now() - t0) / 1000;
    ctx.log(`  idle rosters over XMPP: ${out['rosterSets']} roster sets in ${out['rosterSeedSeconds'].toFixed(1)} s (${out['rosterSeedFailed']} users failed)`);
    const e = mergeErrors({ counts: {}, samples: [] }, r);
    for (const sample of e.samples.slice(0, 3)) ctx.log(`    ${sample}`);
  }
  if (plan.clique) {
    const parts = split(Array.from({ length: plan.clique }, (_, i) => i), pool.size);
    await pool.all('fanOnline', (w) => ({ users: parts[w], concurrency: opts.idleConcurrency }));
    const seed = await pool.all<{ complete: number; seconds: number }>('fanSeed', () => ({ group: plan.clique, timeoutMs: opts.fanSeedTimeoutMs }));
    out['cliqueSeconds'] = Math.max(...seed.map((x) => x.seconds));
    out['cliqueComplete'] = seed.reduce((n, x) => n + x.complete, 0);
    ctx.log(`  clique of ${plan.clique} over XMPP (subscription handshakes): ${out['cliqueSeconds'].toFixed(1)} s, ${out['cliqueComplete']} complete`);
    await pool.all('closeAll', () => ({ graceful: true, concurrency: 200 }));
    await pool.all('fanClear');
  }
  if (plan.ring) {
    const parts = split(Array.from({ length: plan.ring }, (_, i) => i), pool.size);
    const ring = { family: 'pep', group: plan.ring, ringSize: plan.ringSize };
    await pool.all('fanOnline', (w) => ({ users: parts[w], concurrency: opts.idleConcurrency, ...ring }));
    const seed = await pool.all<{ complete: number; seconds: number }>('fanSeed', () => ({ ...ring, timeoutMs: opts.fanSeedTimeoutMs }));
    out['ringSeconds'] = Math.max(...seed.map((x) => x.seconds));
    out['ringComplete'] = seed.reduce((n, x) => n + x.complete, 0);
    ctx.log(`  PEP ring of ${plan.ring}, ${plan.ringSize} contacts each, over XMPP (subscription handshakes): ${out['ringSeconds'].toFixed(1)} s, ${out['ringComplete']} complete`);
    await pool.all('closeAll', () => ({ graceful: true, concurrency: 200 }));
    await pool.all('fanClear');
  }
  return out;
}

// ------------------------------------------------------------------ 1. idle sessions

export interface IdleLevel {
  target: number;
  sessions: number;
  failed: number;
  rssBytes: number;
  perSessionBytes: number;
  rampSeconds: number;
  rampLoginsPerSec: number;
  serverCpuSeconds: number;
  serverCpuMsPerSession: number;
  generatorCpuSeconds: number;
  rosterSets: number;
  window: Window;
}

export interface IdleResult {
  baselineRssBytes: number;
  rssAfterCloseBytes: number;
  levels: IdleLevel[];
  idleCpuPercent: number;
  idleSeconds: number;
  dropped: number;
  generatorRssBytes: number;
  errors: Errors;
}

export async function runIdle(ctx: Ctx): Promise<IdleResult> {
  const { opts, pool } = ctx;
  const errors: Errors = { counts: {}, samples: [] };
  await settle(ctx);
  const baselineRssBytes = await serverRss(ctx);
  ctx.log(`  baseline RSS ${(baselineRssBytes / 2 ** 20).toFixed(1)} MiB`);
  const top = opts.idleLevels[opts.idleLevels.length - 1] as number;
  const levels: IdleLevel[] = [];
  let from = 0;
  for (const target of opts.idleLevels) {
    const users = Array.from({ length: target - from }, (_, k) => from + k);
    const parts = split(users, pool.size);
    const { r, w } = await measured(ctx, () =>
      pool.all<{ connected: number; failed: number; rosterSets: number; sessions: number; errors: ErrorReport }>('connectIdle', (i) => ({
        users: parts[i],
        pool: top,
        rosterSize: opts.rosterSize,
        concurrency: opts.idleConcurrency,
      })),
    );
    mergeErrors(errors, r);
    const connected = r.reduce((n, x) => n + x.connected, 0);
    const failed = r.reduce((n, x) => n + x.failed, 0);
    const sessions = r.reduce((n, x) => n + x.sessions, 0);
    await settle(ctx);
    const rssBytes = await serverRss(ctx);
    const level: IdleLevel = {
      target,
      sessions,
      failed,
      rssBytes,
      perSessionBytes: sessions ? (rssBytes - baselineRssBytes) / sessions : NaN,
      rampSeconds: w.wallSeconds,
      rampLoginsPerSec: connected / w.wallSeconds,
      serverCpuSeconds: w.serverCpuSeconds,
      serverCpuMsPerSession: connected ? (1000 * w.serverCpuSeconds) / connected : NaN,
      generatorCpuSeconds: w.generatorCpuSeconds,
      rosterSets: r.reduce((n, x) => n + x.rosterSets, 0),
      window: w,
    };
    levels.push(level);
    ctx.log(
      `  ${sessions} idle sessions (${failed} failed): RSS ${(rssBytes / 2 ** 20).toFixed(1)} MiB, ` +
        `${(level.perSessionBytes / 1024).toFixed(1)} KiB/session; ramp ${w.wallSeconds.toFixed(1)} s, ` +
        `server ${level.serverCpuMsPerSession.toFixed(2)} ms CPU/session, generator ${w.generatorCpuSeconds.toFixed(1)} s CPU` +
        (level.rosterSets ? `, ${level.rosterSets} roster items were missing` : ""),
    );
    from = target;
  }
  // CPU of the idle server holding every session: timers, keepalives, GC.
  const { w: idle } = await measured(ctx, () => sleep(opts.idleCpuSeconds * 1000));
  const st = await pool.all<{ dropped: number; sessions: number }>('stats');
  const generatorRssBytes = pool.sample().rss;
  ctx.log(`  idle CPU ${pct(idle.serverCpuSeconds, idle.wallSeconds).toFixed(2)} % over ${idle.wallSeconds.toFixed(0)} s; closing`);
  await pool.all('closeAll', () => ({ graceful: true, concurrency: 200 }));
  await settle(ctx);
  // What stays after every session is gone: a leak shows here (GC'd runtimes keep some heap).
  const rssAfterCloseBytes = await serverRss(ctx);
  ctx.log(`  all closed: RSS ${(rssAfterCloseBytes / 2 ** 20).toFixed(1)} MiB`);
  return {
    baselineRssBytes,
    rssAfterCloseBytes,
    levels,
    idleCpuPercent: pct(idle.serverCpuSeconds, idle.wallSeconds),
    idleSeconds: idle.wallSeconds,
    dropped: st.reduce((n, x) => n + x.dropped, 0),
    generatorRssBytes,
    errors,
  };
}

// ------------------------------------------------------------------ 2. one-to-one chat

export interface LatencyFigures {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface ChatRun extends LatencyFigures {
  deliveredPerSec: number;
  bounced: number;
  serverCpuPercent: number;
  generatorCpuPercent: number;
  otherCpuPercent: number;
}

export interface ChatResult {
  pairs: number;
  online: number;
  saturation: ChatRun;
  fixedRate: ChatRun & { rate: number; sustained: boolean };
  errors: Errors;
}

function latency(h: Histogram): LatencyFigures {
  return { p50: h.quantile(0.5), p90: h.quantile(0.9), p99: h.quantile(0.99), max: h.max };
}

/** What every worker's measured loop reports. */
interface WindowReply {
  seconds: number;
  latency: { buckets: Array<[number, number]>; max: number };
  errors: ErrorReport;
}

/**
 * One measured window on every worker at once (`cmd`, with the warm-up and duration added to
 * each worker's arguments): the replies and a sum over them, the merged latency, the measured
 * seconds, the server's CPU seconds and everyone's share of the CPU meanwhile.
 */
async function workerWindow<R extends WindowReply>(ctx: Ctx, cmd: string, args: (worker: number) => object, errors: Errors) {
  const { opts, pool } = ctx;
  const { r, w } = await measured(ctx, () => pool.all<R>(cmd, (i) => ({ ...args(i), warmupMs: opts.warmupMs, durationMs: opts.durationMs })), opts);
  mergeErrors(errors, r);
  const h = new Histogram();
  for (const x of r) h.merge(Histogram.fromJSON(x.latency));
  return {
    seconds: Math.max(...r.map((x) => x.seconds)),
    sum: (f: (x: R) => number) => r.reduce((n, x) => n + f(x), 0),
    latency: latency(h),
    serverCpuSeconds: w.serverCpuSeconds,
    shares: {
      serverCpuPercent: pct(w.serverCpuSeconds, w.wallSeconds),
      generatorCpuPercent: pct(w.generatorCpuSeconds, w.wallSeconds),
      otherCpuPercent: pct(w.otherCpuSeconds, w.wallSeconds),
    },
  };
}

interface ChatReply extends WindowReply {
  delivered: number;
  bounced: number;
}

async function chatRun(ctx: Ctx, pairParts: Array<Array<[string, string]>>, mode: 'pingpong' | 'rate', errors: Errors): Promise<ChatRun> {
  const { opts, pool } = ctx;
  const m = await workerWindow<ChatReply>(ctx, 'chat', (i) => ({ pairs: pairParts[i], mode, rate: opts.chatRate / pool.size }), errors);
  return {
    deliveredPerSec: m.sum((x) => x.delivered) / m.seconds,
    bounced: m.sum((x) => x.bounced),
    ...m.latency,
    ...m.shares,
  };
}

export async function runChat(ctx: Ctx, pairs: number): Promise<ChatResult> {
  const { opts, pool } = ctx;
  const errors: Errors = { counts: {}, samples: [] };
  const all: Array<[string, string]> = Array.from({ length: pairs }, (_, p) => [idleUser(2 * p), idleUser(2 * p + 1)]);
  const parts = split(all, pool.size);
  const on = await pool.all<{ sessions: number; failed: number; errors: ErrorReport }>('online', (i) => ({
    users: (parts[i] ?? []).flat(),
    concurrency: opts.idleConcurrency,
    resource: 'chat',
  }));
  mergeErrors(errors, on);
  const online = on.reduce((n, x) => n + x.sessions, 0);
  await settle(ctx, 10000);
  const saturation = await chatRun(ctx, parts, 'pingpong', errors);
  ctx.log(
    `  ${pairs} pairs, one in flight: ${saturation.deliveredPerSec.toFixed(0)} msg/s, p50 ${saturation.p50.toFixed(2)} ms, ` +
      `p99 ${saturation.p99.toFixed(2)} ms (server ${saturation.serverCpuPercent.toFixed(0)} %, generator ${saturation.generatorCpuPercent.toFixed(0)} %)`,
  );
  await settle(ctx, 10000);
  const fixed = await chatRun(ctx, parts, 'rate', errors);
  const fixedRate = { ...fixed, rate: opts.chatRate, sustained: fixed.deliveredPerSec >= 0.95 * opts.chatRate };
  ctx.log(
    `  ${pairs} pairs at ${opts.chatRate} msg/s: ${fixed.deliveredPerSec.toFixed(0)} msg/s delivered, p50 ${fixed.p50.toFixed(2)} ms, ` +
      `p99 ${fixed.p99.toFixed(2)} ms (server ${fixed.serverCpuPercent.toFixed(0)} %)`,
  );
  await pool.all('closeAll', () => ({ graceful: true, concurrency: 200 }));
  await settle(ctx);
  return { pairs, online, saturation, fixedRate, errors };
}

// ------------------------------------------------------------------ 3. login rate

export interface LoginResult extends LatencyFigures {
  loginsPerSec: number;
  failures: number;
  concurrency: number;
  serverCpuMsPerLogin: number;
  serverCpuPercent: number;
  generatorCpuPercent: number;
  otherCpuPercent: number;
  errors: Errors;
}

export async function runLogin(ctx: Ctx): Promise<LoginResult> {
  const { opts, pool } = ctx;
  const errors: Errors = { counts: {}, samples: [] };
  const users = Array.from({ length: opts.loginUsers }, (_, i) => idleUser(i));
  const parts = split(users, pool.size);
  const per = Math.max(1, Math.round(opts.loginConcurrency / pool.size));
  const { r, w } = await measured(ctx, () =>
    pool.all<{ logins: number; failures: number; seconds: number; latency: WindowReply['latency']; errors: ErrorReport }>('loginLoop', (i) => ({
      users: parts[i],
      concurrency: per,
      warmupMs: opts.warmupMs,
      durationMs: opts.durationMs,
    })),
    opts,
  );
  mergeErrors(errors, r);
  const h = new Histogram();
  for (const x of r) h.merge(Histogram.fromJSON(x.latency));
  const seconds = Math.max(...r.map((x) => x.seconds));
  const logins = r.reduce((n, x) => n + x.logins, 0);
  const result: LoginResult = {
    loginsPerSec: logins / seconds,
    failures: r.reduce((n, x) => n + x.failures, 0),
    concurrency: per * pool.size,
    ...latency(h),
    serverCpuMsPerLogin: logins ? (1000 * w.serverCpuSeconds) / logins : NaN,
    serverCpuPercent: pct(w.serverCpuSeconds, w.wallSeconds),
    generatorCpuPercent: pct(w.generatorCpuSeconds, w.wallSeconds),
    otherCpuPercent: pct(w.otherCpuSeconds, w.wallSeconds),
    errors,
  };
  ctx.log(
    `  ${result.loginsPerSec.toFixed(0)} logins/s (${result.concurrency} in flight), p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, ` +
      `server ${result.serverCpuPercent.toFixed(0)} %, generator ${result.generatorCpuPercent.toFixed(0)} %, failures ${result.failures}`,
  );
  await settle(ctx);
  return result;
}

// ------------------------------------------------------------------ 5. in-band registration

/** Registrations (XEP-0077 §3.1) or password changes (§3.3): the same figures for both. */
export interface AccountWriteResult extends LatencyFigures {
  perSec: number;
  failures: number;
  concurrency: number;
  serverCpuMsPer: number;
  serverCpuPercent: number;
  generatorCpuPercent: number;
  otherCpuPercent: number;
  errors: Errors;
}

interface AccountWriteReply extends WindowReply {
  done: number;
  failures: number;
}

async function accountWrites(ctx: Ctx, cmd: string, args: (worker: number) => object, concurrency: number): Promise<AccountWriteResult> {
  const errors: Errors = { counts: {}, samples: [] };
  const m = await workerWindow<AccountWriteReply>(ctx, cmd, args, errors);
  const done = m.sum((x) => x.done);
  return {
    perSec: done / m.seconds,
    failures: m.sum((x) => x.failures),
    concurrency,
    ...m.latency,
    serverCpuMsPer: done ? (1000 * m.serverCpuSeconds) / done : NaN,
    ...m.shares,
    errors,
  };
}

function logAccountWrites(ctx: Ctx, what: string, r: AccountWriteResult): void {
  ctx.log(
    `  ${r.perSec.toFixed(0)} ${what}/s (${r.concurrency} in flight), IQ p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ` +
      `server ${r.serverCpuMsPer.toFixed(2)} ms CPU each (${r.serverCpuPercent.toFixed(0)} %), generator ${r.generatorCpuPercent.toFixed(0)} %, failures ${r.failures}`,
  );
  for (const sample of r.errors.samples.slice(0, 3)) ctx.log(`    ${sample}`);
}

/** New accounts back to back: TCP, STARTTLS, the registration IQ, close; no login. */
export async function runRegister(ctx: Ctx): Promise<AccountWriteResult> {
  const { opts, pool } = ctx;
  const per = Math.max(1, Math.round(opts.registerConcurrency / pool.size));
  const result = await accountWrites(ctx, 'registerLoop', () => ({ concurrency: per, warmupMs: opts.warmupMs, durationMs: opts.durationMs }), per * pool.size);
  logAccountWrites(ctx, 'registrations', result);
  await settle(ctx);
  return result;
}

/**
 * In-band password changes, one in flight per logged-in user u1…uN (u0 stays for the smoke
 * login). Run last: those users' passwords are random afterwards.
 */
export async function runPassword(ctx: Ctx): Promise<AccountWriteResult> {
  const { opts, pool } = ctx;
  const users = Array.from({ length: opts.registerConcurrency }, (_, i) => idleUser(i + 1));
  const parts = split(users, pool.size);
  const result = await accountWrites(ctx, 'passwordLoop', (i) => ({ users: parts[i], warmupMs: opts.warmupMs, durationMs: opts.durationMs }), users.length);
  logAccountWrites(ctx, 'password changes', result);
  await settle(ctx);
  return result;
}

// ------------------------------------------------------------------ 4. presence fan-out

export interface PresenceResult {
  group: number;
  online: number;
  seedSeconds: number;
  seedComplete: number;
  seedMinBoth: number;
  deliveredPerSec: number;
  cyclesPerSec: number;
  timeouts: number;
  serverCpuPercent: number;
  generatorCpuPercent: number;
  otherCpuPercent: number;
  errors: Errors;
}

export async function runPresence(ctx: Ctx): Promise<PresenceResult> {
  const { opts, pool } = ctx;
  const errors: Errors = { counts: {}, samples: [] };
  const group = opts.fanGroup;
  const parts = split(
    Array.from({ length: group }, (_, i) => i),
    pool.size,
  );
  const on = await pool.all<{ online: number; errors: ErrorReport }>('fanOnline', (i) => ({ users: parts[i], concurrency: opts.idleConcurrency }));
  mergeErrors(errors, on);
  const online = on.reduce((n, x) => n + x.online, 0);
  await settle(ctx, 10000);
  const seed = await pool.all<{ complete: number; minBoth: number; seconds: number; errors: ErrorReport }>('fanSeed', () => ({
    group,
    timeoutMs: opts.fanSeedTimeoutMs,
  }));
  mergeErrors(errors, seed);
  const seedSeconds = Math.max(...seed.map((x) => x.seconds));
  const seedComplete = seed.reduce((n, x) => n + x.complete, 0);
  const seedMinBoth = Math.min(...seed.map((x) => x.minBoth));
  ctx.log(`  ${online} users online; ${seedComplete}/${group} have all ${group - 1} contacts as "both" (min ${seedMinBoth}; check took ${seedSeconds.toFixed(1)} s)`);
  await settle(ctx);
  const drivers = Math.max(1, Math.round(opts.fanDrivers / pool.size));
  const { r, w } = await measured(ctx, () =>
    pool.all<{ received: number; cycles: number; timeouts: number; seconds: number; errors: ErrorReport }>('fanRun', () => ({
      drivers,
      totalDrivers: drivers * pool.size,
      group,
      warmupMs: opts.warmupMs,
      durationMs: opts.durationMs,
      cycleTimeoutMs: 5000,
    })),
    opts,
  );
  mergeErrors(errors, r);
  const seconds = Math.max(...r.map((x) => x.seconds));
  const result: PresenceResult = {
    group,
    online,
    seedSeconds,
    seedComplete,
    seedMinBoth,
    deliveredPerSec: r.reduce((n, x) => n + x.received, 0) / seconds,
    cyclesPerSec: r.reduce((n, x) => n + x.cycles, 0) / seconds,
    timeouts: r.reduce((n, x) => n + x.timeouts, 0),
    serverCpuPercent: pct(w.serverCpuSeconds, w.wallSeconds),
    generatorCpuPercent: pct(w.generatorCpuSeconds, w.wallSeconds),
    otherCpuPercent: pct(w.otherCpuSeconds, w.wallSeconds),
    errors,
  };
  ctx.log(
    `  presence: ${result.deliveredPerSec.toFixed(0)} stanzas/s delivered, ${result.cyclesPerSec.toFixed(1)} off/on cycles/s ` +
      `(${result.timeouts} timed out), server ${result.serverCpuPercent.toFixed(0)} %, generator ${result.generatorCpuPercent.toFixed(0)} %`,
  );
  await pool.all('closeAll', () => ({ graceful: true, concurrency: 200 }));
  await pool.all('fanClear');
  await settle(ctx);
  return result;
}

// ------------------------------------------------------------------ 6. MUC room fan-out

export interface RoomRun extends LatencyFigures {
  /** Groupchat messages received by occupants per second (each message reaches every occupant). */
  deliveredPerSec: number;
  /** Messages sent per second, counted as deliveries / occupants. */
  messagesPerSec: number;
  /** Messages the room refused (type='error', e.g. a rate limit). */
  refused: number;
  serverCpuMicrosPerDelivery: number;
  serverCpuPercent: number;
  generatorCpuPercent: number;
  otherCpuPercent: number;
}

export interface RoomResult {
  room: string;
  occupants: number;
  joinSeconds: number;
  senders: number;
  fixedRate: RoomRun & { rate: number; sustained: boolean };
  saturation: RoomRun & { window: number };
  errors: Errors;
}

interface RoomReply extends WindowReply {
  delivered: number;
  refused: number;
}

/** In-flight messages per sender in the saturation run. */
const ROOM_WINDOW = 4;

async function roomRun(ctx: Ctx, room: string, senderParts: string[][], occupants: number, mode: 'rate' | 'flood', errors: Errors): Promise<RoomRun> {
  const { opts } = ctx;
  const m = await workerWindow<RoomReply>(
    ctx,
    'roomRun',
    (i) => ({ room, senders: senderParts[i] ?? [], mode, rate: (opts.roomRate * (senderParts[i]?.length ?? 0)) / opts.roomSenders, window: ROOM_WINDOW }),
    errors,
  );
  const delivered = m.sum((x) => x.delivered);
  return {
    deliveredPerSec: delivered / m.seconds,
    messagesPerSec: delivered / m.seconds / Math.max(1, occupants),
    refused: m.sum((x) => x.refused),
    ...m.latency,
    serverCpuMicrosPerDelivery: delivered ? (1e6 * m.serverCpuSeconds) / delivered : NaN,
    ...m.shares,
  };
}

function logRoomRun(ctx: Ctx, what: string, x: RoomRun): void {
  ctx.log(
    `  ${what}: ${x.deliveredPerSec.toFixed(0)} deliveries/s (${x.messagesPerSec.toFixed(1)} msg/s), p50 ${x.p50.toFixed(2)} ms, p99 ${x.p99.toFixed(2)} ms, ` +
      `server ${x.serverCpuMicrosPerDelivery.toFixed(1)} µs CPU/delivery (${x.serverCpuPercent.toFixed(0)} %), generator ${x.generatorCpuPercent.toFixed(0)} %, ` +
      `other ${x.otherCpuPercent.toFixed(0)} %, refused ${x.refused}`,
  );
}

/**
 * One room (XEP-0045) with `roomOccupants` users in it, created as an instant room by the
 * first; `roomSenders` of them send groupchat messages, first at a fixed total rate (latency at
 * a known load), then each with a few in flight (as fast as the room reflects them).
 */
export async function runRoom(ctx: Ctx): Promise<RoomResult> {
  const { opts, pool } = ctx;
  const errors: Errors = { counts: {}, samples: [] };
  const room = `bench@conference.${ctx.server.domain}`;
  const users = Array.from({ length: opts.roomOccupants }, (_, i) => idleUser(i));
  const creator = users[0] as string;
  const t0 = performance.now();
  // The creator first, alone: everyone else enters the unlocked room.
  const first = await pool.call<{ occupants: number; errors: ErrorReport }>(0, 'roomJoin', { users: [], room, creator, concurrency: 1 });
  mergeErrors(errors, [first]);
  const parts = split(users.slice(1), pool.size);
  const joined = await pool.all<{ occupants: number; failed: number; errors: ErrorReport }>('roomJoin', (i) => ({ users: parts[i], room, concurrency: opts.idleConcurrency }));
  mergeErrors(errors, joined);
  const joinSeconds = (performance.now() - t0) / 1000;
  const occupants = joined.reduce((n, x) => n + x.occupants, 0);
  ctx.log(`  ${occupants}/${opts.roomOccupants} occupants in ${room} after ${joinSeconds.toFixed(1)} s (${joined.reduce((n, x) => n + x.failed, 0)} failed)`);
  for (const s of errors.samples.slice(0, 3)) ctx.log(`    ${s}`);
  if (occupants < opts.roomOccupants) throw new Error(`only ${occupants} of ${opts.roomOccupants} occupants entered the room`);
  // Senders spread evenly: occupant k sits in worker k % size (the creator, 0, in worker 0).
  const senders = users.slice(0, opts.roomSenders);
  const senderParts: string[][] = Array.from({ length: pool.size }, () => []);
  senders.forEach((u, k) => senderParts[k === 0 ? 0 : (k - 1) % pool.size]?.push(u));
  await settle(ctx, 10000);
  const fixed = await roomRun(ctx, room, senderParts, occupants, 'rate', errors);
  const fixedRate = { ...fixed, rate: opts.roomRate, sustained: fixed.messagesPerSec >= 0.95 * opts.roomRate };
  logRoomRun(ctx, `${opts.roomSenders} senders at ${opts.roomRate} msg/s`, fixed);
  await settle(ctx, 10000);
  const sat = await roomRun(ctx, room, senderParts, occupants, 'flood', errors);
  const saturation = { ...sat, window: ROOM_WINDOW };
  logRoomRun(ctx, `${opts.roomSenders} senders, ${ROOM_WINDOW} in flight each`, sat);
  await pool.all('closeAll', () => ({ graceful: true, concurrency: 200 }));
  await pool.all('roomClear');
  await settle(ctx);
  return { room, occupants, joinSeconds, senders: opts.roomSenders, fixedRate, saturation, errors };
}

// ------------------------------------------------------------------ 7. PEP notifications

export interface PepRun extends LatencyFigures {
  publishesPerSec: number;
  /** Devicelist notifications received by the publishers' contacts per second. */
  notificationsPerSec: number;
  /** Contacts notified per publish (every contact is online with +notify: `contacts` when all arrive). */
  notificationsPerPublish: number;
  /** Notifications the publisher's own session received per publish (XEP-0163 §4.3: the owner hears too). */
  selfNotificationsPerPublish: number;
  /** The same publish told again to a session that already had it (not counted above), per publish. */
  duplicatesPerPublish: number;
  publishErrors: number;
  serverCpuMicrosPerPublish: number;
  /** Server CPU over every notification sent (the contacts' and the publisher's own). */
  serverCpuMicrosPerNotification: number;
  serverCpuPercent: number;
  generatorCpuPercent: number;
  otherCpuPercent: number;
}

export interface PepResult {
  users: number;
  contacts: number;
  online: number;
  loginSeconds: number;
  /** disco#info queries the server sent the clients to learn their caps (XEP-0115), from login to the end. */
  discoQueries: number;
  fixedRate: PepRun & { rate: number; sustained: boolean };
  saturation: PepRun;
  errors: Errors;
}

interface PepReply extends WindowReply {
  published: number;
  publishErrors: number;
  notified: number;
  selfNotified: number;
  duplicates: number;
  discoAnswered: number;
}

/**
 * What the bench client advertises (XEP-0115 §5.1), a subset of what Conversations does: OMEMO's
 * devicelist, avatar metadata and nickname with +notify (XEP-0163 §4.3.3 filtered notifications).
 */
const PEP_CLIENT_IDENTITY = { category: 'client', type: 'phone', name: 'JabberX bench' };
const PEP_CLIENT_FEATURES = [
  'http://jabber.org/protocol/caps',
  'http://jabber.org/protocol/disco#info',
  'urn:xmpp:ping',
  'eu.siacs.conversations.axolotl.devicelist',
  'eu.siacs.conversations.axolotl.devicelist+notify',
  'urn:xmpp:avatar:metadata+notify',
  'http://jabber.org/protocol/nick+notify',
];
const PEP_CAPS_NODE = 'https://github.com/jabberx/jabberx/bench';

function pepCaps(): { node: string; ver: string; discoInfo: string } {
  const i = PEP_CLIENT_IDENTITY;
  const discoInfo =
    `<identity category='${i.category}' type='${i.type}' name='${i.name}'/>` + PEP_CLIENT_FEATURES.map((f) => `<feature var='${f}'/>`).join('');
  return { node: PEP_CAPS_NODE, ver: capsVer([i], PEP_CLIENT_FEATURES), discoInfo };
}

async function pepRun(ctx: Ctx, parts: number[][], mode: 'rate' | 'flood', errors: Errors): Promise<PepRun & { discoAnswered: number }> {
  const { opts } = ctx;
  const m = await workerWindow<PepReply>(ctx, 'pepRun', (i) => ({ publishers: parts[i] ?? [], mode, rate: (opts.pepRate * (parts[i]?.length ?? 0)) / opts.pepUsers }), errors);
  const published = m.sum((x) => x.published);
  const notified = m.sum((x) => x.notified);
  const selfNotified = m.sum((x) => x.selfNotified);
  return {
    publishesPerSec: published / m.seconds,
    notificationsPerSec: notified / m.seconds,
    notificationsPerPublish: published ? notified / published : 0,
    selfNotificationsPerPublish: published ? selfNotified / published : 0,
    duplicatesPerPublish: published ? m.sum((x) => x.duplicates) / published : 0,
    publishErrors: m.sum((x) => x.publishErrors),
    ...m.latency,
    serverCpuMicrosPerPublish: published ? (1e6 * m.serverCpuSeconds) / published : NaN,
    serverCpuMicrosPerNotification: notified + selfNotified ? (1e6 * m.serverCpuSeconds) / (notified + selfNotified) : NaN,
    ...m.shares,
    discoAnswered: m.sum((x) => x.discoAnswered),
  };
}

function withoutDisco<T extends { discoAnswered: number }>(x: T): Omit<T, 'discoAnswered'> {
  const { discoAnswered, ...rest } = x;
  void discoAnswered;
  return rest;
}

function logPepRun(ctx: Ctx, what: string, x: PepRun): void {
  ctx.log(
    `  ${what}: ${x.publishesPerSec.toFixed(0)} publishes/s, ${x.notificationsPerSec.toFixed(0)} notifications/s ` +
      `(per publish: ${x.notificationsPerPublish.toFixed(2)} contacts, ${x.selfNotificationsPerPublish.toFixed(2)} self, ${x.duplicatesPerPublish.toFixed(2)} duplicates), p50 ${x.p50.toFixed(2)} ms, p99 ${x.p99.toFixed(2)} ms, ` +
      `server ${x.serverCpuMicrosPerPublish.toFixed(0)} µs CPU/publish (${x.serverCpuPercent.toFixed(0)} %), generator ${x.generatorCpuPercent.toFixed(0)} %, ` +
      `other ${x.otherCpuPercent.toFixed(0)} %, publish errors ${x.publishErrors}`,
  );
}

/**
 * What OMEMO costs a server (XEP-0163, XEP-0384): `pepUsers` users on a ring, each with its
 * `pepContacts` neighbours as "both" contacts, all online with devicelist+notify in their caps;
 * they publish devicelist updates, first at a fixed total rate (latency at a known load), then
 * each with one publish in flight (saturation). A server whose contacts do not hear of nearly
 * every publish fails the scenario: delivering nothing is cheap.
 */
export async function runPep(ctx: Ctx): Promise<PepResult> {
  const { opts, pool } = ctx;
  const errors: Errors = { counts: {}, samples: [] };
  const caps = pepCaps();
  const parts = split(
    Array.from({ length: opts.pepUsers }, (_, i) => i),
    pool.size,
  );
  const t0 = performance.now();
  const on = await pool.all<{ online: number; failed: number; errors: ErrorReport }>('pepOnline', (i) => ({ users: parts[i], concurrency: opts.idleConcurrency, caps }));
  mergeErrors(errors, on);
  const loginSeconds = (performance.now() - t0) / 1000;
  const online = on.reduce((n, x) => n + x.online, 0);
  ctx.log(`  ${online}/${opts.pepUsers} users online with caps ${caps.ver} in ${loginSeconds.toFixed(1)} s`);
  for (const s of errors.samples.slice(0, 3)) ctx.log(`    ${s}`);
  if (online < opts.pepUsers) throw new Error(`only ${online} of ${opts.pepUsers} PEP users logged in`);
  // The servers ask a client what its caps 'ver' means before they filter notifications by it.
  await settle(ctx, 10000);
  const fixed = await pepRun(ctx, parts, 'rate', errors);
  const fixedRate = { ...fixed, rate: opts.pepRate, sustained: fixed.publishesPerSec >= 0.95 * opts.pepRate };
  logPepRun(ctx, `${opts.pepRate} publishes/s`, fixed);
  for (const s of errors.samples.slice(0, 3)) ctx.log(`    ${s}`);
  // Every contact is online and asked for devicelist notifications: each publish must reach them.
  if (fixed.notificationsPerPublish < 0.9 * opts.pepContacts) {
    throw new Error(
      `contacts were notified of ${fixed.notificationsPerPublish.toFixed(2)} per publish, expected ${opts.pepContacts} ` +
        `(${fixed.publishesPerSec.toFixed(0)} publishes/s, ${fixed.publishErrors} refused, ${fixed.discoAnswered} caps queries answered)`,
    );
  }
  await settle(ctx, 10000);
  const saturation = await pepRun(ctx, parts, 'flood', errors);
  logPepRun(ctx, `saturation, 1 publish in flight per user`, saturation);
  ctx.log(`  caps: ${saturation.discoAnswered} disco#info queries answered since login`);
  if (saturation.notificationsPerPublish < 0.9 * opts.pepContacts) {
    throw new Error(`at saturation, contacts were notified of ${saturation.notificationsPerPublish.toFixed(2)} per publish, expected ${opts.pepContacts}`);
  }
  await pool.all('closeAll', () => ({ graceful: true, concurrency: 200 }));
  await pool.all('pepClear');
  await settle(ctx);
  // The clients count the queries since they logged in: the last run's count is the total.
  const discoQueries = saturation.discoAnswered;
  return { users: opts.pepUsers, contacts: opts.pepContacts, online, loginSeconds, discoQueries, fixedRate: withoutDisco(fixedRate), saturation: withoutDisco(saturation), errors };
}
