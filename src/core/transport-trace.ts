// What the on-demand debug log (`jabberx debug on`) shows of a client connection: stream opens,
// restarts and closes, each stanza's and nonza's top tag (name, type, id, and the name and
// namespace of its first child), the SASL steps (mechanism, challenge or response, outcome) and
// stream errors. Never a body, a SASL payload (it carries the password or its proof), an
// attribute beyond those, nor the peer's address. It wraps the transport the stream talks to, so
// it sees exactly what goes in and out, and costs one check of a flag while debug logging is off.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { StreamError } from './errors.ts';
import { scrubAddresses, type DebugLog } from './logger.ts';
import type { ChannelBindingType, ElementTransport, TransportEvents } from './transport.ts';
import type { Element } from './xml/element.ts';

const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';

/** The loggable shape of an element: its top tag, and for SASL its step. */
export function topTagFields(e: Element): Record<string, string> {
  const out: Record<string, string> = { tag: e.name };
  const { type, id, xmlns } = e.attrs;
  if (xmlns && xmlns !== 'jabber:client') out['ns'] = xmlns;
  if (type) out['type'] = type;
  if (id) out['id'] = id.slice(0, 64);
  const child = e.children.find((c): c is Element => typeof c !== 'string');
  if (child) {
    out['child'] = child.name;
    const ns = child.attrs['xmlns'];
    if (ns) out['childNs'] = ns;
  }
  if (xmlns === NS_SASL) {
    // <auth mechanism=…>; <failure><not-authorized/>…: the outcome's condition is the first child.
    const mechanism = e.attrs['mechanism'];
    if (mechanism) out['mechanism'] = mechanism;
    if (e.name === 'failure' && child) out['condition'] = child.name;
  }
  return out;
}

class TracedTransport implements ElementTransport {
  readonly #inner: ElementTransport;
  readonly #log: Logger;
  readonly #debug: DebugLog;
  /** Tells this connection's lines apart; random, so it says nothing about the peer. */
  readonly #conn = randomBytes(4).toString('hex');

  constructor(inner: ElementTransport, log: Logger, debug: DebugLog) {
    this.#inner = inner;
    this.#log = log;
    this.#debug = debug;
    inner.onClose(() => this.#trace({}, 'connection closed'));
  }

  #trace(fields: Record<string, unknown>, msg: string): void {
    if (this.#debug.enabled) this.#log.debug({ conn: this.#conn, ...fields }, msg);
  }

  get secure(): boolean {
    return this.#inner.secure;
  }

  get canStartTls(): boolean {
    return this.#inner.canStartTls;
  }

  get peerAddress(): string | undefined {
    return this.#inner.peerAddress;
  }

  get pendingBytes(): number {
    return this.#inner.pendingBytes;
  }

  attach(events: TransportEvents): void {
    this.#trace({ secure: this.#inner.secure }, 'connection opened');
    this.#inner.attach({
      streamStart: (attrs, name) => {
        this.#trace({ dir: 'in', to: attrs['to'], version: attrs['version'] }, 'stream opened');
        events.streamStart(attrs, name);
      },
      element: (e) => {
        if (this.#debug.enabled) this.#trace({ dir: 'in', ...topTagFields(e) }, e.attrs['xmlns'] === NS_SASL ? 'sasl' : 'element');
        events.element(e);
      },
      streamEnd: () => {
        this.#trace({ dir: 'in' }, 'stream closed');
        events.streamEnd();
      },
      error: (err) => {
        this.#trace({ dir: 'in', condition: err.condition }, 'stream input refused');
        events.error(err);
      },
      activity: () => events.activity(),
    });
  }

  openStream(attrs: Record<string, string>): void {
    this.#trace({ dir: 'out', from: attrs['from'] }, 'stream opened');
    this.#inner.openStream(attrs);
  }

  send(e: Element, serialized?: string): boolean {
    if (this.#debug.enabled) this.#trace({ dir: 'out', ...topTagFields(e) }, e.attrs['xmlns'] === NS_SASL ? 'sasl' : 'element');
    return this.#inner.send(e, serialized);
  }

  closeStream(error?: StreamError): void {
    if (error) this.#trace({ dir: 'out', condition: error.condition, text: error.text }, 'stream error');
    else this.#trace({ dir: 'out' }, 'stream closed');
    this.#inner.closeStream(error);
  }

  restart(): void {
    this.#trace({}, 'stream restart');
    this.#inner.restart();
  }

  setMaxStanzaSize(bytes: number): void {
    this.#inner.setMaxStanzaSize(bytes);
  }

  async startTls(host: string, role?: 'server' | 'client'): Promise<void> {
    try {
      await this.#inner.startTls(host, role);
      this.#trace({ host }, 'TLS established');
    } catch (err) {
      this.#trace({ host, problem: scrubAddresses(String((err as Error).message)) }, 'TLS handshake failed');
      throw err;
    }
  }

  channelBindingTypes(): ChannelBindingType[] {
    return this.#inner.channelBindingTypes();
  }

  channelBinding(type: ChannelBindingType): Buffer | undefined {
    return this.#inner.channelBinding(type);
  }

  end(): void {
    this.#inner.end();
  }

  destroy(): void {
    this.#inner.destroy();
  }

  onClose(cb: () => void): void {
    this.#inner.onClose(cb);
  }

  onDrain(cb: () => void): void {
    this.#inner.onDrain(cb);
  }

  pause(): void {
    this.#inner.pause();
  }

  resume(): void {
    this.#inner.resume();
  }
}

/** The transport with the debug log's trace of it (see the top of this file). */
export function traceTransport(inner: ElementTransport, log: Logger, debug: DebugLog): ElementTransport {
  return new TracedTransport(inner, log, debug);
}
