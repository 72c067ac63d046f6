// The kill -9 scenario (issue "no message ever lost"): pairs of stock @xmpp/client sessions chat
// with stream management on; the server is killed with SIGKILL mid-stream and restarted on the
// same data. The clients reconnect on their own (xmpp.js's reconnect), fail to resume, log in
// again and send again whatever the server never acknowledged, as Conversations does with
// xmpp.js's 'fail' events. Every message must reach its recipient at least once (duplicates carry
// the same XEP-0359 origin-id, which clients drop) or come back to its sender as an error.
import type { EventEmitter} from 'node:events';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { client, xml, type Client } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startServer, type TestServer } from '../harness/server.ts';
import { freePort } from '../harness/net.ts';

const NS_SID = 'urn:xmpp:sid:0';

export interface Kill9Options {
  pairs: number;
  /** Messages each sender sends, about half before the kill and half after. */
  messagesPerSender: number;
  /** Pause between two messages of one sender, ms. */
  intervalMs: number;
  /** How long everything may take to settle after the last message, ms. */
  settleMs?: number;
  /** Kill the server halfway (default true; false shows the baseline). */
  kill?: boolean;
}

export interface Kill9Counts {
  sent: number;
  /** Sent again by the clients after the server's restart (never acknowledged before it). */
  resent: number;
  deliveredOnce: number;
  /** Delivered more than once (the same origin-id): dropped by clients. */
  deliveredTwice: number;
  bounced: number;
  /** Neither delivered nor bounced: must be zero. */
  vanished: number;
  /** Still unacknowledged by the server when the scenario ended. */
  unacknowledged: number;
}

interface Party {
  xmpp: Client;
  name: string;
}

/** A stock client that reconnects by itself and announces itself on every (re)login. */
function party(port: number, domain: string, name: string, password: string): Party {
  const xmpp = client({ service: `xmpp://127.0.0.1:${String(port)}`, domain, username: name, password, timeout: 15_000 });
  xmpp.on('error', () => undefined);
  xmpp.on('online', () => void xmpp.send(xml('presence')).catch(() => undefined));
  return { xmpp, name };
}

export async function runKill9(opts: Kill9Options): Promise<Kill9Counts> {
  const ports = { starttls: await freePort(), direct: await freePort() };
  const config = {
    listeners: [
      { type: 'c2s_starttls', port: ports.starttls, address: '127.0.0.1' },
      { type: 'c2s_direct_tls', port: ports.direct, address: '127.0.0.1' },
    ],
    // Every limit keeps its default: all clients reconnect from one address at once after the
    // restart; those over the per-address admission limits are refused and retry (xmpp.js's
    // reconnect), as a crowd behind one NAT would.
  };
  let server: TestServer = await startServer({ config });
  const domain = server.domain;
  const passwords = new Map<string, string>();
  const batch: string[] = [];
  for (let i = 0; i < opts.pairs; i++) {
    for (const name of [`s${String(i)}`, `r${String(i)}`]) {
      const pw = `pw-${name}-${String(Date.now())}`;
      passwords.set(name, pw);
      batch.push(`${name}@${domain} ${pw}`);
    }
  }
  const added = await server.cli(['adduser', '--batch'], `${batch.join('\n')}\n`);
  if (added.code !== 0) throw new Error(`adduser --batch failed: ${added.stderr}`);

  const senders: (Party & { post(st: Element): void })[] = [];
  const receivers: Party[] = [];
  /** origin-id -> times received. */
  const received = new Map<string, number>();
  /** origin-id -> 'pending' | 'acked' | 'bounced'. */
  const fate = new Map<string, 'pending' | 'acked' | 'bounced'>();
  let resent = 0;
  const stops: (() => void)[] = [];

  for (let i = 0; i < opts.pairs; i++) {
    const r = party(ports.starttls, domain, `r${String(i)}`, passwords.get(`r${String(i)}`) ?? '');
    r.xmpp.on('stanza', (st: Element) => {
      const id = st.is('message') && st.attrs['type'] === 'chat' ? st.getChild('origin-id', NS_SID)?.attrs['id'] : undefined;
      if (typeof id === 'string') received.set(id, (received.get(id) ?? 0) + 1);
    });
    receivers.push(r);
    const s = party(ports.starttls, domain, `s${String(i)}`, passwords.get(`s${String(i)}`) ?? '');
    const waiting: Element[] = [];
    const sm = s.xmpp.streamManagement as unknown as EventEmitter & { enabled: boolean };
    // The outbox: a message goes out only on a stream whose stream management is on, so the
    // client keeps it until the server acknowledges it (xmpp.js says 'online' before <enabled/>).
    const post = (st: Element): void => {
      if (s.xmpp.status !== 'online' || !sm.enabled) waiting.push(st);
      else void s.xmpp.send(st).catch(() => waiting.push(st));
    };
    const flush = (): void => {
      for (const st of waiting.splice(0)) post(st);
    };
    const outbox = setInterval(flush, 20);
    stops.push(() => clearInterval(outbox));
    sm.on('ack', (st: Element) => {
      const id = st.getChild('origin-id', NS_SID)?.attrs['id'];
      if (typeof id === 'string' && fate.get(id) === 'pending') fate.set(id, 'acked');
    });
    // Never acknowledged by the server (it died, or the resumption failed): sent again.
    sm.on('fail', (st: Element) => {
      if (!st.is('message')) return;
      resent++;
      post(st);
    });
    s.xmpp.on('stanza', (st: Element) => {
      const id = st.is('message') && st.attrs['type'] === 'error' ? st.getChild('origin-id', NS_SID)?.attrs['id'] : undefined;
      if (typeof id === 'string') fate.set(id, 'bounced');
    });
    if (process.env['K9_DEBUG'] !== undefined && i === 0) {
      s.xmpp.on('element', (el: Element) => console.error('S0 <-', el.toString().slice(0, 300)));
      s.xmpp.on('send', (el: Element) => console.error('S0 ->', el.toString().slice(0, 300)));
    }
    senders.push({ ...s, post });
  }
  // K9_DEBUG=1: the phases and the settling, on stderr.
  const t0 = Date.now();
  const debug = process.env['K9_DEBUG'] !== undefined;
  const log = (m: string): void => {
    if (debug) console.error(String(Date.now() - t0), m);
  };
  // Logins arrive ten at a time, under the per-address cap on unauthenticated connections (all
  // clients share 127.0.0.1 here). After the kill they all come back at once; those refused
  // retry (xmpp.js's reconnect), as a crowd behind one NAT would.
  const everyone = [...senders, ...receivers];
  for (let i = 0; i < everyone.length; i += 10) await Promise.all(everyone.slice(i, i + 10).map((p) => p.xmpp.start()));
  log('all started');

  const sendAll = async (from: number, to: number): Promise<void> => {
    for (let n = from; n < to; n++) {
      senders.forEach((s, i) => {
        const id = `${s.name}-${String(n)}`;
        fate.set(id, 'pending');
        const st = xml('message', { to: `r${String(i)}@${domain}`, type: 'chat', id }, xml('body', {}, `message ${String(n)}`), xml('origin-id', { xmlns: NS_SID, id }));
        s.post(st);
      });
      await sleep(opts.intervalMs);
    }
  };

  const half = Math.floor(opts.messagesPerSender / 2);
  await sendAll(0, half);
  log('first half sent');
  // Mid-stream: stanzas in flight both ways, acks outstanding.
  if (opts.kill !== false) {
    server.process.kill('SIGKILL');
    await once(server.process, 'exit');
    server = await startServer({ config, root: server.root });
    log('restarted');
  }
  await sendAll(half, opts.messagesPerSender);

  const deadline = Date.now() + (opts.settleMs ?? 60_000);
  const settled = (): boolean => [...fate].every(([id, f]) => f === 'bounced' || (f === 'acked' && (received.get(id) ?? 0) > 0));
  for (let round = 1; !settled() && Date.now() < deadline; round++) {
    await sleep(200);
    if (round % 5 === 0) log(`pending ${String([...fate.values()].filter((f) => f === 'pending').length)}, undelivered ${String([...fate].filter(([id]) => !received.has(id)).length)}, online ${String(everyone.filter((p) => p.xmpp.status === 'online').length)}`);
  }

  log('settled');
  for (const stop of stops) stop();
  await Promise.all([...senders, ...receivers].map(async (p) => {
    p.xmpp.reconnect.stop();
    await p.xmpp.stop().catch(() => undefined);
  }));
  await server.remove();

  const counts: Kill9Counts = { sent: fate.size, resent, deliveredOnce: 0, deliveredTwice: 0, bounced: 0, vanished: 0, unacknowledged: 0 };
  for (const [id, f] of fate) {
    const times = received.get(id) ?? 0;
    if (times === 1) counts.deliveredOnce++;
    else if (times > 1) counts.deliveredTwice++;
    else if (f === 'bounced') counts.bounced++;
    else counts.vanished++;
    if (f === 'pending') counts.unacknowledged++;
  }
  return counts;
}
