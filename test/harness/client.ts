// Test harness: an @xmpp/client (xmpp.js) session, the first independent client implementation
// (RFC 6120 STARTTLS or XEP-0368 direct TLS, SASL SCRAM-SHA-1 or PLAIN, resource binding).
import type { TLSSocket } from 'node:tls';
import { client, xml, type Client } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import type { JID } from '@xmpp/jid';
// The error type xmpp.js's own iqCaller rejects with (condition, text, application, element).
import StanzaError from '@xmpp/middleware/lib/StanzaError.js';

export { xml };
export type { Element };

export interface ClientOptions {
  /** STARTTLS port, or the direct TLS port when `directTls`. */
  port: number;
  /** The XMPP domain: stream `to`, SNI and the JID's domainpart. */
  domain: string;
  username: string;
  password: string;
  resource?: string;
  /** Address to connect to. Default 127.0.0.1. */
  host?: string;
  /** XEP-0368: TLS from the first byte instead of STARTTLS. */
  directTls?: boolean;
  /** Forces one SASL mechanism (xmpp.js itself supports only these two). */
  mechanism?: 'SCRAM-SHA-1' | 'PLAIN';
  /** Timeout of each negotiation step and iq, ms. Default 10000. */
  timeoutMs?: number;
  /**
   * Log in with XEP-0388 SASL2 (and XEP-0386 Bind 2, XEP-0484 FAST, XEP-0198 inline), as stock
   * xmpp.js does when the server offers it. Default false: RFC 6120 SASL and resource binding,
   * which most tests are about (the server's SASL2 offer is hidden from the client).
   */
  sasl2?: boolean;
  /** The XEP-0388 <user-agent id/> (SASL2): stable per client installation. Default: a random UUID. */
  userAgentId?: string;
  /** A XEP-0484 FAST token the client kept from an earlier login (SASL2): it logs in with it first. */
  fastToken?: { mechanism: string; token: string; expiry: string };
}

export type Predicate = (el: Element) => boolean;

export interface TestClient {
  readonly xmpp: Client;
  /** The full JID the server bound. */
  readonly jid: JID;
  /** Every top-level element received since login (stanzas and nonzas), in order. */
  readonly received: Element[];
  /** 'error' events of the connection (stream errors arrive here too). */
  readonly errors: Error[];
  /** Resolves when the connection has gone offline (closed by either side). */
  readonly offline: Promise<void>;
  readonly isOnline: boolean;
  send(el: Element): Promise<void>;
  /** iq get/set to `to`; resolves with the payload child of the result, rejects with the StanzaError. */
  iqGet(payload: Element, to?: string): Promise<Element>;
  iqSet(payload: Element, to?: string): Promise<Element>;
  iqCaller: Client['iqCaller'];
  /**
   * Resolves with the first element matching `pred` that no earlier waitFor consumed, including
   * elements that arrived before the call; rejects after timeoutMs (default 5000).
   */
  waitFor(pred: Predicate, timeoutMs?: number, what?: string): Promise<Element>;
  /**
   * Fails if an element matching `pred` has arrived unconsumed, checked after a barrier rather
   * than a silence window: every open client of this test process pings the server and gets the
   * answer, then this one does (RFC 6120 §10.1: a stream's stanzas are handled in order, so
   * whatever they sent before has been routed, and whatever was routed here has arrived). A
   * stalled server fails the barrier instead of passing. `ms` bounds each ping round trip.
   */
  expectNone(pred: Predicate, ms: number, what?: string): Promise<void>;
  /** A XEP-0199 ping round trip to the server. */
  ping(timeoutMs?: number): Promise<void>;
  /** Marks every element received so far as consumed. */
  clear(): void;
  /** The TLS socket under the stream (for protocol checks). */
  tlsSocket(): TLSSocket | undefined;
  /** Sends </stream:stream>, waits for the server's, then closes the socket. Never throws. */
  close(): Promise<void>;
}


/** Logs in and binds a resource; rejects (and cleans up) if any step fails. */
export async function connectClient(opts: ClientOptions): Promise<TestClient> {
  const host = opts.host ?? '127.0.0.1';
  const timeout = opts.timeoutMs ?? 10_000;
  // Stock xmpp.js as users have it: it verifies the server's certificate (issued by the test CA,
  // which the test process trusts through NODE_EXTRA_CA_CERTS, see test-ca.ts).
  const service = `${opts.directTls ? 'xmpps' : 'xmpp'}://${host}:${String(opts.port)}`;
  const forced = opts.mechanism;
  const xmpp = client({
    service,
    domain: opts.domain,
    resource: opts.resource,
    timeout,
    ...(opts.userAgentId === undefined ? {} : { userAgent: xml('user-agent', { id: opts.userAgentId }) }),
    ...(forced
      ? {
          credentials: async (authenticate, mechanisms) => {
            if (!mechanisms.includes(forced)) throw new Error(`server does not offer ${forced} (offers ${mechanisms.join(', ')})`);
            // The third argument (a XEP-0388 user-agent) only matters for SASL2.
            await authenticate({ username: opts.username, password: opts.password }, forced, xml('user-agent'));
          },
        }
      : { username: opts.username, password: opts.password }),
  });
  // A test decides itself when to reconnect; a kicked session must stay kicked.
  xmpp.reconnect.stop();
  if (opts.fastToken) await (xmpp as unknown as { fast: { saveToken(t: unknown): Promise<void> } }).fast.saveToken(opts.fastToken);
  if (opts.sasl2 !== true) {
    // Before xmpp.js's own stream-feature handlers see it: without the offer it uses RFC 6120 SASL.
    xmpp.prependListener('element', (el: Element) => {
      if (el.is('features', 'http://etherx.jabber.org/streams')) el.children = el.children.filter((c) => typeof c === 'string' || !c.is('authentication', 'urn:xmpp:sasl:2'));
    });
  }

  const received: Element[] = [];
  const errors: Error[] = [];
  let consumed = new WeakSet<Element>();
  const waiters = new Set<(el: Element) => void>();
  let online = false;
  let resolveOffline!: () => void;
  const offline = new Promise<void>((r) => (resolveOffline = r));

  xmpp.on('element', (el: Element) => {
    received.push(el);
    for (const w of [...waiters]) w(el);
  });
  xmpp.on('error', (err: Error) => errors.push(err));
  xmpp.on('online', () => (online = true));
  xmpp.on('offline', () => {
    online = false;
    resolveOffline();
  });
  xmpp.on('disconnect', () => {
    online = false;
    resolveOffline();
  });

  let jid: JID;
  try {
    jid = await xmpp.start();
  } catch (e) {
    await xmpp.disconnect().catch(() => undefined);
    throw e;
  }

  const waitFor = (pred: Predicate, timeoutMs = 5000, what = 'a matching element'): Promise<Element> => {
    for (const el of received) {
      if (!consumed.has(el) && pred(el)) {
        consumed.add(el);
        return Promise.resolve(el);
      }
    }
    return new Promise<Element>((resolvePromise, reject) => {
      const waiter = (el: Element): void => {
        if (consumed.has(el) || !pred(el)) return;
        consumed.add(el);
        waiters.delete(waiter);
        clearTimeout(timer);
        resolvePromise(el);
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        const recent = received.slice(-5).map((e) => e.toString().slice(0, 300)).join('\n  ');
        reject(new Error(`${String(jid)}: timed out after ${String(timeoutMs)} ms waiting for ${what}; last received:\n  ${recent}`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };

  // IQs as xmpp.js's iqCaller sends them, but with the reply awaited by a listener set before the
  // send: iqCaller leaves its reply promise unwatched while the send is pending, so a fast error
  // reply is an unhandled rejection for a moment, which node:test counts as a failure.
  let iqSeq = 0;
  const iq = (type: 'get' | 'set', payload: Element, to?: string): Promise<Element> =>
    new Promise<Element>((resolve, reject) => {
      const id = `harness-iq-${++iqSeq}`;
      const done = (el: Element): void => {
        if (!el.is('iq') || el.attrs['id'] !== id || (el.attrs['type'] !== 'result' && el.attrs['type'] !== 'error')) return;
        waiters.delete(done);
        clearTimeout(timer);
        if (el.attrs['type'] === 'error') reject(StanzaError.fromElement(el.getChild('error') ?? el));
        else resolve(el.getChild(payload.name, payload.attrs['xmlns'] as string | undefined) as Element);
      };
      const timer = setTimeout(() => {
        waiters.delete(done);
        reject(new Error(`no answer to IQ ${type} ${payload.name} within ${timeout} ms`));
      }, timeout);
      waiters.add(done);
      xmpp.send(xml('iq', { type, to, id }, payload)).catch((err: unknown) => {
        waiters.delete(done);
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    });

  let closing: Promise<void> | undefined;
  const tc: TestClient = {
    xmpp,
    jid,
    received,
    errors,
    offline,
    get isOnline() {
      return online;
    },
    send: (el) => xmpp.send(el),
    iqGet: (payload, to) => iq('get', payload, to),
    iqSet: (payload, to) => iq('set', payload, to),
    iqCaller: xmpp.iqCaller,
    waitFor,
    async ping(timeoutMs = timeout) {
      await xmpp.iqCaller.get(xml('ping', 'urn:xmpp:ping'), opts.domain, timeoutMs);
    },
    async expectNone(pred, ms, what = 'no such element') {
      const bound = Math.max(ms, 2000);
      await Promise.all([...openClients].filter((c) => c !== tc && c.isOnline).map((c) => c.ping(bound).catch(() => undefined)));
      await tc.ping(bound);
      const el = received.find((e) => !consumed.has(e) && pred(e));
      if (el) throw new Error(`${String(jid)}: expected ${what}, got ${el.toString().slice(0, 500)}`);
    },
    clear() {
      consumed = new WeakSet(received);
    },
    tlsSocket() {
      const wrapper = xmpp.socket as unknown as { socket?: TLSSocket } | null;
      return wrapper?.socket;
    },
    close() {
      closing ??= (async () => {
        try {
          if (xmpp.status !== 'offline' && xmpp.status !== 'disconnect') await xmpp.stop();
        } catch {
          await xmpp.disconnect().catch(() => undefined);
        }
      })();
      return closing;
    },
  };
  openClients.add(tc);
  void offline.then(() => openClients.delete(tc));
  return tc;
}

/** The clients of this test process that are connected, for expectNone's barrier. */
const openClients = new Set<TestClient>();

/** Predicate helpers for waitFor. */
export const match = {
  message(from?: string, body?: string): Predicate {
    return (el) =>
      el.is('message') &&
      (from === undefined || el.attrs['from'] === from || String(el.attrs['from']).startsWith(`${from}/`)) &&
      (body === undefined || el.getChildText('body') === body);
  },
  presence(from?: string, type?: string): Predicate {
    return (el) =>
      el.is('presence') &&
      (from === undefined || el.attrs['from'] === from || String(el.attrs['from']).startsWith(`${from}/`)) &&
      (type === undefined ? el.attrs['type'] === undefined : el.attrs['type'] === type);
  },
  /** A stream error with this condition (urn:ietf:params:xml:ns:xmpp-streams). */
  streamError(condition?: string): Predicate {
    return (el) =>
      el.is('error', 'http://etherx.jabber.org/streams') &&
      (condition === undefined || el.getChild(condition, 'urn:ietf:params:xml:ns:xmpp-streams') !== undefined);
  },
};
