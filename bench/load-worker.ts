// The load generator process (forked by bench/run.ts, one or two of them): holds XMPP client
// sessions (RFC 6120) and runs the scenario loops the orchestrator asks for over IPC, reporting
// counts, latency histograms and its own CPU time. Pairs in the chat scenario live in one worker,
// so "delivered" is seen by the same clock that stamped the send.
import { randomBytes } from 'node:crypto';
import { XmppClient, type XmppClientOptions, type XmppError } from './xmpp-client.ts';
import type { ScramKeys } from './scram-client.ts';
import { Histogram } from './histogram.ts';
import { attr } from './stanza-framer.ts';
import { fanUser, groupContacts, idleUser, passwordOf, pepUser, rosterContact } from './accounts.ts';

export interface Target {
  host: string;
  port: number;
  domain: string;
  /** When > 0, connections are spread over 127.0.0.2 … 127.0.0.(1+n). */
  sourceAddrs: number;
  streamManagement: boolean;
}

export interface ErrorReport {
  counts: Record<string, number>;
  samples: string[];
}

let target: Target | undefined;
// Derived SCRAM keys, cleared per server so every server's run pays the same client-side PBKDF2.
let keyCache = new Map<string, ScramKeys>();
const sessions = new Map<string, XmppClient>();
let dropped = 0;
let sourceCounter = 0;
let errorCounts: Record<string, number> = {};
let errorSamples: string[] = [];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const now = () => performance.now();
const bareOf = (jid: string) => {
  const slash = jid.indexOf('/');
  return slash < 0 ? jid : jid.slice(0, slash);
};

function noteError(kind: string, message: string): void {
  errorCounts[kind] = (errorCounts[kind] ?? 0) + 1;
  if (errorSamples.length < 8) errorSamples.push(`${kind}: ${message}`);
}

function takeErrors(): ErrorReport {
  const r = { counts: errorCounts, samples: errorSamples };
  errorCounts = {};
  errorSamples = [];
  return r;
}

function need(): Target {
  if (!target) throw new Error('no target set');
  return target;
}

async function login(user: string, resource: string, extra: Partial<XmppClientOptions> = {}): Promise<XmppClient> {
  const t = need();
  const c = new XmppClient({
    host: t.host,
    port: t.port,
    domain: t.domain,
    user,
    password: passwordOf(user),
    resource,
    keyCache,
    localAddress: t.sourceAddrs > 0 ? `127.0.0.${2 + (sourceCounter++ % t.sourceAddrs)}` : undefined,
    timeoutMs: 60000,
    streamManagement: t.streamManagement,
    ...extra,
  });
  try {
    await c.connect();
  } catch (e) {
    const err = e as XmppError;
    noteError(err.kind ?? 'other', err.message);
    throw e;
  }
  return c;
}

/** Keep a logged-in session; count it if the server drops it later. */
function keep(user: string, c: XmppClient): void {
  sessions.set(user, c);
  c.onClosed = (err) => {
    if (sessions.get(user) === c) sessions.delete(user);
    if (err) {
      dropped++;
      noteError(`dropped:${(err as XmppError).kind ?? 'other'}`, err.message);
    }
  };
}

async function pool<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const run = async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
}

// ------------------------------------------------------------------ idle sessions

const NS_ROSTER = 'jabber:iq:roster';

/** RFC 6121 §2.2–§2.3: fetch the roster and add whichever of the fixed contacts are missing. */
async function ensureRoster(c: XmppClient, i: number, pool: number, size: number): Promise<number> {
  const domain = need().domain;
  const roster = await c.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
  const have = new Set<string>();
  for (const m of roster.matchAll(/<item\s[^>]*>/g)) {
    const jid = attr(m[0], 'jid');
    if (jid) have.add(jid);
  }
  const sets: Promise<string>[] = [];
  for (let k = 1; k <= size; k++) {
    const contact = `${rosterContact(i, k, pool)}@${domain}`;
    if (!have.has(contact)) sets.push(c.iq('set', `<query xmlns='${NS_ROSTER}'><item jid='${contact}' name='Contact ${k}'/></query>`));
  }
  let added = 0;
  for (const r of await Promise.all(sets)) {
    if (attr(r, 'type') !== 'result') noteError('roster-set', r.slice(0, 200));
    else added++;
  }
  return added;
}

/** Give idle users their fixed roster over XMPP (servers whose storage the bench cannot write). */
async function seedRosters(a: { users: number[]; pool: number; rosterSize: number; concurrency: number }): Promise<unknown> {
  const t0 = now();
  let rosterSets = 0;
  let failed = 0;
  await pool(a.users, a.concurrency, async (i) => {
    let c: XmppClient | undefined;
    try {
      c = await login(idleUser(i), 'seed');
      const added = await ensureRoster(c, i, a.pool, a.rosterSize);
      rosterSets += added;
      await c.close(3000);
    } catch (e) {
      noteError('seed', (e as Error).message);
      failed++;
      c?.destroy();
    }
  });
  return { rosterSets, failed, seconds: (now() - t0) / 1000, errors: takeErrors() };
}

/**
 * Idle sessions (RFC 6121 §2.2, §4.2): log in, fetch the roster (20 contacts, seeded before),
 * send initial presence, then stay connected and silent. A contact missing from the roster is
 * added here (counted in rosterSets, which stays 0 when seeding worked).
 */
async function connectIdle(a: { users: number[]; pool: number; rosterSize: number; concurrency: number }): Promise<unknown> {
  const t0 = now();
  let connected = 0;
  let failed = 0;
  let rosterSets = 0;
  await pool(a.users, a.concurrency, async (i) => {
    const user = idleUser(i);
    if (sessions.has(user)) return;
    let c: XmppClient;
    try {
      c = await login(user, 'idle');
    } catch {
      failed++;
      return;
    }
    try {
      const added = await ensureRoster(c, i, a.pool, a.rosterSize);
      rosterSets += added;
      c.send('<presence/>');
      keep(user, c);
      connected++;
    } catch (e) {
      noteError('roster', (e as Error).message);
      failed++;
      c.destroy();
    }
  });
  return { connected, failed, rosterSets, seconds: (now() - t0) / 1000, sessions: sessions.size, errors: takeErrors() };
}

/** Log users in and send initial presence (chat scenario). */
async function online(a: { users: string[]; concurrency: number; resource: string }): Promise<unknown> {
  const t0 = now();
  let failed = 0;
  await pool(a.users, a.concurrency, async (user) => {
    if (sessions.has(user)) return;
    try {
      const c = await login(user, a.resource);
      c.send('<presence/>');
      keep(user, c);
    } catch {
      failed++;
    }
  });
  return { sessions: sessions.size, failed, seconds: (now() - t0) / 1000, errors: takeErrors() };
}

async function closeAll(a: { graceful: boolean; concurrency: number }): Promise<unknown> {
  const all = [...sessions.values()];
  sessions.clear();
  for (const c of all) c.onClosed = undefined;
  if (a.graceful) {
    await pool(all, a.concurrency, (c) => c.close(3000));
  } else {
    for (const c of all) c.destroy();
  }
  return { closed: all.length };
}

// ------------------------------------------------------------------ measured windows

/** Flags the load loops read: whether the window is being measured, and whether to stop. */
interface WindowState {
  measuring: boolean;
  stop: boolean;
}

/**
 * Lets the loops warm up, measures for durationMs, then stops them and waits `drainMs` for what
 * is still in flight; returns the measured seconds.
 */
async function measuredWindow(a: { warmupMs: number; durationMs: number }, w: WindowState, loops: Promise<void>[], drainMs = 500): Promise<number> {
  await sleep(a.warmupMs);
  w.measuring = true;
  const t0 = now();
  await sleep(a.durationMs);
  w.measuring = false;
  const t1 = now();
  w.stop = true;
  await Promise.all(loops);
  await sleep(drainMs);
  return (t1 - t0) / 1000;
}

/**
 * Open-loop load: `fire(seq)` `rate` times a second from now, whatever the answers (latency at a
 * known load), until the window stops.
 */
function rateTicker(rate: number, w: WindowState, fire: (seq: number) => void): void {
  const start = now();
  let sent = 0;
  const timer = setInterval(() => {
    if (w.stop) {
      clearInterval(timer);
      return;
    }
    const due = Math.floor(((now() - start) / 1000) * rate) - sent;
    for (let k = 0; k < due; k++) fire(sent + k);
    sent += Math.max(0, due);
  }, 2);
}

// ------------------------------------------------------------------ one-to-one chat

const BODY = 'Benchmark message: the quick brown fox jumps over the lazy dog, 0123456789.';

/**
 * One-to-one chat (RFC 6121 §5): in "pingpong" mode each pair keeps exactly one message in
 * flight (the receiver answers as soon as it gets one), which saturates the server; in "rate"
 * mode messages leave on a fixed schedule whatever the answers, for latency at a known load.
 * The message id carries the send time in microseconds of this process's clock.
 */
async function chat(a: {
  pairs: Array<[string, string]>;
  mode: 'pingpong' | 'rate';
  rate: number;
  warmupMs: number;
  durationMs: number;
}): Promise<unknown> {
  const h = new Histogram();
  let delivered = 0;
  let bounced = 0;
  const w: WindowState = { measuring: false, stop: false };
  const clients: Array<[XmppClient, XmppClient]> = [];
  for (const [x, y] of a.pairs) {
    const cx = sessions.get(x);
    const cy = sessions.get(y);
    if (cx && cy) clients.push([cx, cy]);
  }
  if (clients.length === 0) throw new Error('no pair is online');
  const sendTo = (from: XmppClient, to: XmppClient) =>
    from.send(`<message to='${to.bare}' type='chat' id='m${Math.round(now() * 1000)}'><body>${BODY}</body></message>`);
  for (const [cx, cy] of clients) {
    const handler = (self: XmppClient, peer: XmppClient) => (xml: string, name: string) => {
      if (name !== 'message') return;
      if (attr(xml, 'type') === 'error') {
        bounced++;
        if (bounced <= 3) noteError('message-error', xml.slice(0, 300));
        return;
      }
      const id = attr(xml, 'id') ?? '';
      if (w.measuring) {
        delivered++;
        const sent = Number(id.slice(1));
        if (Number.isFinite(sent)) h.add(now() - sent / 1000);
      }
      if (!w.stop && a.mode === 'pingpong') sendTo(self, peer);
    };
    cx.onStanza = handler(cx, cy);
    cy.onStanza = handler(cy, cx);
  }
  if (a.mode === 'pingpong') {
    for (const [cx, cy] of clients) sendTo(cx, cy);
  } else {
    rateTicker(a.rate, w, (turn) => {
      const pair = clients[turn % clients.length] as [XmppClient, XmppClient];
      const flip = Math.floor(turn / clients.length) % 2 === 1;
      if (flip) sendTo(pair[1], pair[0]);
      else sendTo(pair[0], pair[1]);
    });
  }
  // The drain lets the messages still in flight arrive before the next measurement starts.
  const seconds = await measuredWindow(a, w, [], 1000);
  for (const [cx, cy] of clients) {
    cx.onStanza = undefined;
    cy.onStanza = undefined;
  }
  return { delivered, bounced, seconds, latency: h.toJSON(), errors: takeErrors() };
}

// ------------------------------------------------------------------ login rate

/** Full logins (TCP, STARTTLS, SCRAM-SHA-1, bind) back to back on `concurrency` loops, then a polite close. */
async function loginLoop(a: { users: string[]; concurrency: number; warmupMs: number; durationMs: number }): Promise<unknown> {
  const h = new Histogram();
  let idx = 0;
  let seq = 0;
  const w: WindowState = { measuring: false, stop: false };
  let logins = 0;
  let failures = 0;
  const loop = async () => {
    while (!w.stop) {
      const user = a.users[idx++ % a.users.length] as string;
      const t = now();
      try {
        const c = await login(user, `login${++seq}`);
        if (w.measuring) {
          logins++;
          h.add(now() - t);
        }
        // Close politely without waiting: the server's teardown still counts in its CPU time.
        void c.close(2000);
      } catch {
        if (w.measuring) failures++;
        await sleep(50);
      }
    }
  };
  const seconds = await measuredWindow(a, w, Array.from({ length: a.concurrency }, loop));
  return { logins, failures, seconds, latency: h.toJSON(), errors: takeErrors() };
}

// ------------------------------------------------------------------ in-band registration

const NS_REGISTER = 'jabber:iq:register';

/**
 * A long random password that meets every server's rules: 32 characters, not a common one, and
 * hex, so it never contains a bench username (they all start with "u").
 */
const freshPassword = () => randomBytes(16).toString('hex');

/**
 * XEP-0077 §3.1 back to back on `concurrency` loops: connect, STARTTLS, register a new account
 * (no login), close politely. Latency is the registration IQ alone, send to result.
 */
async function registerLoop(a: { concurrency: number; warmupMs: number; durationMs: number }): Promise<unknown> {
  const t = need();
  const h = new Histogram();
  let seq = 0;
  const w: WindowState = { measuring: false, stop: false };
  let registrations = 0;
  let failures = 0;
  // Unique within a run: every server starts from an empty account store of its own.
  const prefix = `u-${process.pid.toString(36)}-`;
  const loop = async () => {
    while (!w.stop) {
      const c = new XmppClient({
        host: t.host,
        port: t.port,
        domain: t.domain,
        user: `${prefix}${++seq}`,
        password: freshPassword(),
        resource: 'register',
        localAddress: t.sourceAddrs > 0 ? `127.0.0.${2 + (sourceCounter++ % t.sourceAddrs)}` : undefined,
        timeoutMs: 60000,
      });
      try {
        const took = await c.register();
        if (w.measuring) {
          registrations++;
          h.add(took);
        }
        // As in the login loop: the server's teardown still counts in its CPU time.
        void c.close(2000);
      } catch (e) {
        const err = e as XmppError;
        noteError(err.kind ?? 'other', err.message);
        if (w.measuring) failures++;
        await sleep(50);
      }
    }
  };
  const seconds = await measuredWindow(a, w, Array.from({ length: a.concurrency }, loop));
  return { done: registrations, failures, seconds, latency: h.toJSON(), errors: takeErrors() };
}

/**
 * XEP-0077 §3.3 password changes back to back, one in flight per logged-in user: each new
 * password is random, so these accounts no longer log in with their bench password afterwards.
 */
async function passwordLoop(a: { users: string[]; warmupMs: number; durationMs: number }): Promise<unknown> {
  const domain = need().domain;
  const h = new Histogram();
  let measuring = false;
  let stop = false;
  let changes = 0;
  let failures = 0;
  const clients: XmppClient[] = [];
  await pool(a.users, 16, async (user) => {
    try {
      clients.push(await login(user, 'password'));
    } catch {
      // counted by login()
    }
  });
  if (clients.length === 0) throw new Error('no user logged in');
  const loop = async (c: XmppClient) => {
    while (!stop && c.ready) {
      const t = now();
      try {
        const r = await c.iq('set', `<query xmlns='${NS_REGISTER}'><username>${c.opts.user}</username><password>${freshPassword()}</password></query>`, domain);
        if (attr(r, 'type') !== 'result') throw new Error(`password change refused: ${r.slice(0, 300)}`);
        if (measuring) {
          changes++;
          h.add(now() - t);
        }
      } catch (e) {
        noteError('password', (e as Error).message);
        if (measuring) failures++;
        await sleep(50);
      }
    }
  };
  const loops = clients.map(loop);
  await sleep(a.warmupMs);
  measuring = true;
  const t0 = now();
  await sleep(a.durationMs);
  measuring = false;
  const t1 = now();
  stop = true;
  await Promise.all(loops);
  await pool(clients, 50, (c) => c.close(3000));
  return { done: changes, failures, sessions: clients.length, seconds: (t1 - t0) / 1000, latency: h.toJSON(), errors: takeErrors() };
}

// ------------------------------------------------------------------ presence fan-out

interface FanState {
  index: number;
  /** Indexes of the members this one has as "both" contacts. */
  contacts: number[];
  client: XmppClient;
  /** Contacts whose subscription is "both" according to roster pushes (RFC 6121 §2.1.6). */
  both: Set<string>;
  requested: Set<string>;
  queue: string[];
  window: number;
  available: number;
  waiter: (() => void) | undefined;
  threshold: number;
  busy: boolean;
}

const fans: FanState[] = [];
let fanMeasuring = false;
let fanReceived = 0;
const SUB_WINDOW = 8;

function pump(s: FanState): void {
  while (s.window < SUB_WINDOW && s.queue.length) {
    const to = s.queue.shift() as string;
    s.requested.add(to);
    s.window++;
    s.client.send(`<presence to='${to}' type='subscribe'/>`);
  }
}

function fanHandler(s: FanState) {
  return (xml: string, name: string) => {
    if (name === 'presence') {
      const type = attr(xml, 'type');
      if (type === undefined || type === 'unavailable') {
        if (fanMeasuring) fanReceived++;
        if (type === undefined) {
          s.available++;
          if (s.waiter && s.available >= s.threshold) {
            const w = s.waiter;
            s.waiter = undefined;
            w();
          }
        }
        return;
      }
      const from = bareOf(attr(xml, 'from') ?? '');
      // RFC 6121 §3.1.3-§3.1.5: approve every request, and ask back once.
      if (type === 'subscribe') {
        s.client.send(`<presence to='${from}' type='subscribed'/>`);
        if (!s.requested.has(from)) {
          s.requested.add(from);
          s.client.send(`<presence to='${from}' type='subscribe'/>`);
        }
      } else if (type === 'subscribed') {
        s.window = Math.max(0, s.window - 1);
        pump(s);
      }
    } else if (name === 'iq' && xml.includes(NS_ROSTER)) {
      for (const m of xml.matchAll(/<item\s[^>]*>/g)) {
        const jid = attr(m[0], 'jid');
        if (!jid) continue;
        if (attr(m[0], 'subscription') === 'both') s.both.add(jid);
        else s.both.delete(jid);
      }
    }
  };
}

/** A group's member names: the presence fan-out's clique (f…) or the PEP ring (p…). */
const memberName = (family: 'fan' | 'pep' | undefined, i: number) => (family === 'pep' ? pepUser(i) : fanUser(i));

/**
 * Log the group's users in with initial presence and the subscription automaton attached; their
 * contacts are everyone else in the group (the clique) or `ringSize` neighbours on a ring.
 */
async function fanOnline(a: { users: number[]; concurrency: number; family?: 'fan' | 'pep'; group?: number; ringSize?: number }): Promise<unknown> {
  const t0 = now();
  let failed = 0;
  await pool(a.users, a.concurrency, async (i) => {
    const user = memberName(a.family, i);
    try {
      const c = await login(user, 'fan');
      const contacts = a.group ? groupContacts(i, a.group, a.ringSize) : [];
      const s: FanState = { index: i, contacts, client: c, both: new Set(), requested: new Set(), queue: [], window: 0, available: 0, waiter: undefined, threshold: 0, busy: false };
      c.onStanza = fanHandler(s);
      // RFC 6121 §2.1.6: only a resource that asked for the roster is sent roster pushes.
      const roster = await c.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
      for (const m of roster.matchAll(/<item\s[^>]*>/g)) {
        const jid = attr(m[0], 'jid');
        if (jid && attr(m[0], 'subscription') === 'both') s.both.add(jid);
      }
      c.send('<presence/>');
      keep(user, c);
      fans.push(s);
    } catch {
      failed++;
    }
  });
  return { online: fans.length, failed, seconds: (now() - t0) / 1000, errors: takeErrors() };
}

/**
 * Make the group a clique of mutual ("both") subscriptions through the protocol itself, the same
 * for every server: the lower-numbered user asks, the other approves and asks back.
 */
async function fanSeed(a: { group: number; timeoutMs: number; family?: 'fan' | 'pep'; ringSize?: number }): Promise<unknown> {
  const t0 = now();
  const domain = need().domain;
  for (const s of fans) if (!s.contacts.length) s.contacts = groupContacts(s.index, a.group, a.ringSize);
  const want = (s: FanState) => s.contacts.length;
  for (const s of fans) {
    s.queue = [];
    for (const j of s.contacts) {
      if (j < s.index) continue;
      const jid = `${memberName(a.family, j)}@${domain}`;
      if (!s.requested.has(jid) && !s.both.has(jid)) s.queue.push(jid);
    }
    pump(s);
  }
  // Requests whose answer never came (a lost 'subscribed') must not stall the window forever.
  let lastProgress = -1;
  while (now() - t0 < a.timeoutMs) {
    await sleep(500);
    if (fans.every((s) => s.both.size >= want(s))) {
      for (const s of fans) s.queue = [];
      break;
    }
    const progress = fans.reduce((n, s) => n + s.both.size - s.queue.length, 0);
    if (Math.round((now() - t0) / 500) % 20 === 0) {
      const both = fans.reduce((n, s) => n + s.both.size, 0);
      const queued = fans.reduce((n, s) => n + s.queue.length, 0);
      const wanted = fans.reduce((n, s) => n + want(s), 0);
      console.error(`  [worker ${process.pid}] seeding: ${both}/${wanted} "both" items seen, ${queued} requests queued`);
    }
    if (progress === lastProgress) {
      // Stalled: a request or answer was lost (a server may drop requests beyond a pending
      // limit). Ask again, from both sides, for every contact not yet "both".
      for (const s of fans) {
        const queued = new Set(s.queue);
        for (const j of s.contacts) {
          const jid = `${memberName(a.family, j)}@${domain}`;
          if (!s.both.has(jid) && !queued.has(jid)) s.queue.push(jid);
        }
        s.window = 0;
        pump(s);
      }
    }
    lastProgress = progress;
  }
  const seeded = (now() - t0) / 1000;
  // Check with a roster get what the server itself says.
  let minBoth = Infinity;
  let complete = 0;
  await pool(fans, 16, async (s) => {
    try {
      const r = await s.client.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
      const n = (r.match(/subscription=["']both["']/g) ?? []).length;
      minBoth = Math.min(minBoth, n);
      if (n >= want(s)) complete++;
    } catch (e) {
      noteError('roster-get', (e as Error).message);
    }
  });
  // Users whose roster pushes never showed every contact as "both" (a server skipping pushes).
  const pushShort = fans.filter((s) => s.both.size < want(s)).map((s) => `${memberName(a.family, s.index)}:${s.both.size}`);
  if (pushShort.length) noteError('roster-push-short', pushShort.slice(0, 10).join(' '));
  return { users: fans.length, complete, minBoth: minBoth === Infinity ? 0 : minBoth, seconds: seeded, errors: takeErrors() };
}

/**
 * Presence fan-out (RFC 6121 §4.2–§4.5): `drivers` users at a time each send unavailable then
 * available presence; the server broadcasts both to every online contact and, for the new
 * initial presence, answers the probes with the contacts' presence. A driver's cycle ends when
 * it has received most of those answers. Every presence any client receives is counted.
 */
async function fanRun(a: { drivers: number; totalDrivers: number; group: number; warmupMs: number; durationMs: number; cycleTimeoutMs: number }): Promise<unknown> {
  let stop = false;
  let cycles = 0;
  let timeouts = 0;
  let turn = 0;
  const threshold = Math.max(1, a.group - 1 - 2 * a.totalDrivers);
  const pick = (): FanState | undefined => {
    for (let k = 0; k < fans.length; k++) {
      const s = fans[turn++ % fans.length] as FanState;
      if (!s.busy && s.client.ready) return s;
    }
    return undefined;
  };
  const driver = async () => {
    while (!stop) {
      const s = pick();
      if (!s) {
        await sleep(10);
        continue;
      }
      s.busy = true;
      s.available = 0;
      s.threshold = threshold;
      const done = new Promise<boolean>((resolve) => {
        const t = setTimeout(() => {
          s.waiter = undefined;
          resolve(false);
        }, a.cycleTimeoutMs);
        s.waiter = () => {
          clearTimeout(t);
          resolve(true);
        };
      });
      s.client.send(`<presence type='unavailable'/>`);
      s.client.send(`<presence/>`);
      const ok = await done;
      if (fanMeasuring) {
        cycles++;
        if (!ok) timeouts++;
      }
      s.busy = false;
    }
  };
  const loops = Array.from({ length: Math.min(a.drivers, fans.length) }, driver);
  await sleep(a.warmupMs);
  fanReceived = 0;
  fanMeasuring = true;
  const t0 = now();
  await sleep(a.durationMs);
  fanMeasuring = false;
  const t1 = now();
  const received = fanReceived;
  stop = true;
  await Promise.all(loops);
  await sleep(1000);
  return { received, cycles, timeouts, seconds: (t1 - t0) / 1000, errors: takeErrors() };
}

function fanClear(): unknown {
  const n = fans.length;
  fans.length = 0;
  return { cleared: n };
}


// ------------------------------------------------------------------ MUC room

const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';

/** Occupants of the room in this worker, by user. */
const occupants = new Map<string, XmppClient>();
/** Wall-clock milliseconds, comparable between the two workers (same machine clock). */
const wallNow = () => performance.timeOrigin + performance.now();

/**
 * XEP-0045 §7.2: log in and enter the room as `nick` with no history (§7.2.14 maxstanzas='0').
 * Resolves on the self-presence (status 110); `create` also unlocks a new room as an instant room
 * (§10.1.2: an empty submitted data form to the owner namespace).
 */
async function enterRoom(user: string, room: string, create: boolean): Promise<void> {
  const c = await login(user, 'room');
  const nickJid = `${room}/${user}`;
  const joined = new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${user}: no self-presence from ${room} within 30 s`)), 30000);
    c.onStanza = (xml, name) => {
      if (name !== 'presence' || attr(xml, 'from') !== nickJid) return;
      clearTimeout(t);
      if (attr(xml, 'type') === 'error') reject(new Error(`${user} could not enter: ${xml.slice(0, 300)}`));
      else resolve(xml);
    };
  });
  c.send(`<presence to='${nickJid}'><x xmlns='${NS_MUC}'><history maxstanzas='0'/></x></presence>`);
  try {
    const self = await joined;
    if (create && /code=["']201["']/.test(self)) {
      const r = await c.iq('set', `<query xmlns='${NS_MUC_OWNER}'><x xmlns='jabber:x:data' type='submit'/></query>`, room);
      if (attr(r, 'type') !== 'result') throw new Error(`instant room refused: ${r.slice(0, 300)}`);
    }
  } catch (e) {
    noteError('room-join', (e as Error).message);
    c.destroy();
    throw e;
  }
  c.onStanza = undefined;
  keep(user, c);
  occupants.set(user, c);
}

/** Enter the room with these users, `concurrency` at a time; the creator (if given) first, alone. */
async function roomJoin(a: { users: string[]; room: string; creator?: string; concurrency: number }): Promise<unknown> {
  const t0 = now();
  let failed = 0;
  if (a.creator) await enterRoom(a.creator, a.room, true);
  await pool(a.users, a.concurrency, async (user) => {
    if (occupants.has(user)) return;
    try {
      await enterRoom(user, a.room, false);
    } catch {
      failed++;
    }
  });
  return { occupants: occupants.size, failed, seconds: (now() - t0) / 1000, errors: takeErrors() };
}

/**
 * Groupchat fan-out (XEP-0045 §7.4): `senders` of this worker's occupants send to the room, on
 * a fixed schedule ("rate": `rate` messages/s from this worker's senders together) or with
 * `window` messages in flight per sender, each echo to the sender releasing the next ("flood",
 * as fast as the room reflects them). Every groupchat message any occupant here receives counts
 * as one delivery; the body carries the send time on the machine's wall clock, so latency is
 * measured at every occupant, in either worker.
 */
async function roomRun(a: { room: string; senders: string[]; mode: 'rate' | 'flood'; rate: number; window: number; warmupMs: number; durationMs: number }): Promise<unknown> {
  const h = new Histogram();
  let delivered = 0;
  let refused = 0;
  const w: WindowState = { measuring: false, stop: false };
  const senders = a.senders.map((u) => occupants.get(u)).filter((c): c is XmppClient => c !== undefined);
  const send = (c: XmppClient) => c.send(`<message to='${a.room}' type='groupchat'><body>t${wallNow().toFixed(3)} ${BODY}</body></message>`);
  for (const [user, c] of occupants) {
    const self = `${a.room}/${user}`;
    const sender = senders.includes(c);
    c.onStanza = (xml, name) => {
      if (name !== 'message') return;
      if (attr(xml, 'type') === 'error') {
        refused++;
        if (refused <= 3) noteError('groupchat-error', xml.slice(0, 300));
        if (!w.stop && sender && a.mode === 'flood') send(c);
        return;
      }
      if (attr(xml, 'type') !== 'groupchat') return;
      const m = /<body>t([0-9.]+) /.exec(xml);
      if (!m) return; // the room's subject or anything else
      if (w.measuring) {
        delivered++;
        h.add(wallNow() - Number(m[1]));
      }
      if (!w.stop && sender && a.mode === 'flood' && attr(xml, 'from') === self) send(c);
    };
  }
  if (a.mode === 'flood') {
    for (const c of senders) for (let k = 0; k < a.window; k++) send(c);
  } else if (senders.length) {
    rateTicker(a.rate, w, (seq) => send(senders[seq % senders.length] as XmppClient));
  }
  // The drain lets the messages still in flight arrive before the next measurement starts.
  const seconds = await measuredWindow(a, w, [], 2000);
  for (const c of occupants.values()) c.onStanza = undefined;
  return { delivered, refused, seconds, latency: h.toJSON(), errors: takeErrors() };
}

function roomClear(): unknown {
  const n = occupants.size;
  occupants.clear();
  return { cleared: n };
}

// ------------------------------------------------------------------ PEP (XEP-0163)

const NS_CAPS = 'http://jabber.org/protocol/caps';
const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
const NS_PUBSUB_EVENT = 'http://jabber.org/protocol/pubsub#event';
const NS_AXOLOTL = 'eu.siacs.conversations.axolotl';
const DEVICELIST = `${NS_AXOLOTL}.devicelist`;
/** Device ids are 31-bit (as Conversations makes them); the second device carries the send time. */
const DEVICE_ID_SPAN = 2 ** 31;

/** The members of the PEP ring logged in here, by index. */
const pepClients = new Map<number, XmppClient>();

/**
 * XEP-0115: log in with a caps 'ver' in every presence and answer the server's disco#info query
 * for it (§6.2) with the identity and features the 'ver' was computed from.
 */
async function pepOnline(a: { users: number[]; concurrency: number; caps: { node: string; ver: string; discoInfo: string } }): Promise<unknown> {
  const t0 = now();
  let failed = 0;
  await pool(a.users, a.concurrency, async (i) => {
    const user = pepUser(i);
    try {
      const c = await login(user, 'pep', { discoInfo: a.caps.discoInfo });
      // As a client does: the roster first (RFC 6121 §2.2), then initial presence with caps.
      await c.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
      c.send(`<presence><c xmlns='${NS_CAPS}' hash='sha-1' node='${a.caps.node}' ver='${a.caps.ver}'/></presence>`);
      keep(user, c);
      pepClients.set(i, c);
    } catch {
      failed++;
    }
  });
  return { online: pepClients.size, failed, seconds: (now() - t0) / 1000, errors: takeErrors() };
}

/**
 * Devicelist updates (XEP-0384 over XEP-0163) as Conversations publishes them: item 'current',
 * publish-options access_model open (XEP-0060 §7.1.5). `publishers` (indexes here) publish on a
 * fixed schedule ("rate": `rate` publishes/s from this worker together) or with one publish in
 * flight each, its result releasing the next ("flood"). Every devicelist notification any member
 * here receives is counted; those sent to the publisher itself separately. Latency is publish to
 * notification on the machine's wall clock (publishers and contacts sit in both workers).
 */
async function pepRun(a: { publishers: number[]; mode: 'rate' | 'flood'; rate: number; warmupMs: number; durationMs: number }): Promise<unknown> {
  const h = new Histogram();
  const w: WindowState = { measuring: false, stop: false };
  let published = 0;
  let publishErrors = 0;
  let notified = 0;
  let selfNotified = 0;
  let duplicates = 0;
  const micros = () => Math.round(wallNow() * 1000) % DEVICE_ID_SPAN;
  for (const c of pepClients.values()) {
    // The same publish told twice to one session counts once (and as a duplicate).
    const seen = new Set<string>();
    c.onStanza = (xml, name) => {
      if (name !== 'message' || !w.measuring || !xml.includes(NS_PUBSUB_EVENT) || !xml.includes(DEVICELIST)) return;
      const m = /<device id=["'](\d+)["']\s*\/>\s*<device id=["'](\d+)["']\s*\/>\s*<\/list>/.exec(xml);
      if (!m) return;
      const key = `${m[1]}:${m[2]}`;
      if (seen.has(key)) {
        duplicates++;
        if (duplicates <= 2) noteError('duplicate-notification', `to ${c.jid}: ${xml.slice(0, 400)}`);
        return;
      }
      seen.add(key);
      if (bareOf(attr(xml, 'from') ?? '') === c.bare) selfNotified++;
      else notified++;
      h.add((((micros() - Number(m[2])) % DEVICE_ID_SPAN) + DEVICE_ID_SPAN) % DEVICE_ID_SPAN / 1000);
    };
  }
  const publishers = a.publishers.map((i) => [i, pepClients.get(i)] as const).filter((p): p is readonly [number, XmppClient] => p[1] !== undefined);
  const publish = async (i: number, c: XmppClient) => {
    const item =
      `<item id='current'><list xmlns='${NS_AXOLOTL}'><device id='${1000 + i}'/><device id='${micros()}'/></list></item>`;
    const options =
      `<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>${NS_PUBSUB}#publish-options</value></field>` +
      `<field var='pubsub#access_model'><value>open</value></field></x></publish-options>`;
    const counted = w.measuring;
    try {
      // A publish never answered must not hold the saturation loop (and the window) forever.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('publish not answered within 30 s')), 30000)));
      const r = await Promise.race([c.iq('set', `<pubsub xmlns='${NS_PUBSUB}'><publish node='${DEVICELIST}'>${item}</publish>${options}</pubsub>`), timeout]).finally(() => clearTimeout(timer));
      if (attr(r, 'type') !== 'result') throw new Error(`publish refused: ${r.slice(0, 300)}`);
      if (counted) published++;
    } catch (e) {
      publishErrors++;
      noteError('publish', (e as Error).message);
      await sleep(50);
    }
  };
  const loops: Promise<void>[] = [];
  if (a.mode === 'flood') {
    for (const [i, c] of publishers) {
      loops.push(
        (async () => {
          while (!w.stop && c.ready) await publish(i, c);
        })(),
      );
    }
  } else if (publishers.length) {
    rateTicker(a.rate, w, (seq) => {
      const [i, c] = publishers[seq % publishers.length] as readonly [number, XmppClient];
      void publish(i, c);
    });
  }
  const seconds = await measuredWindow(a, w, loops, 2000);
  for (const c of pepClients.values()) c.onStanza = undefined;
  let discoAnswered = 0;
  for (const c of pepClients.values()) discoAnswered += c.discoAnswered;
  return { published, publishErrors, notified, selfNotified, duplicates, discoAnswered, seconds, latency: h.toJSON(), errors: takeErrors() };
}

function pepClear(): unknown {
  const n = pepClients.size;
  pepClients.clear();
  return { cleared: n };
}

// ------------------------------------------------------------------ IPC

function stats(): unknown {
  const u = process.cpuUsage();
  return { cpuSeconds: (u.user + u.system) / 1e6, rss: process.memoryUsage.rss(), sessions: sessions.size, dropped };
}

const handlers: Record<string, (args: never) => unknown> = {
  target: (a: Target) => {
    target = a;
    keyCache = new Map();
    dropped = 0;
    return { ok: true };
  },
  connectIdle,
  seedRosters,
  online,
  closeAll,
  chat,
  loginLoop,
  registerLoop,
  passwordLoop,
  fanOnline,
  fanSeed,
  fanRun,
  fanClear,
  roomJoin,
  roomRun,
  roomClear,
  pepOnline,
  pepRun,
  pepClear,
  stats,
  exit: () => {
    setTimeout(() => process.exit(0), 10);
    return { ok: true };
  },
};

process.on('message', (m: { id: number; cmd: string; args: unknown }) => {
  const h = handlers[m.cmd];
  void (async () => {
    try {
      if (!h) throw new Error(`unknown command ${m.cmd}`);
      const result = await (h as (a: unknown) => unknown)(m.args);
      process.send?.({ id: m.id, ok: true, result });
    } catch (e) {
      process.send?.({ id: m.id, ok: false, error: (e as Error).stack ?? String(e) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
