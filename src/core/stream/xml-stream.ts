// The framing-neutral part of every XML stream (RFC 6120 §4): our stream header, stream errors
// and close (§4.4, §4.9), restarts, the idle timer, and the bounded in-order inbox (§10.1) that
// stops reading while it is full, busy or while the peer's output is backed up. Roles (client now;
// incoming and outgoing server and component streams next) extend it with their negotiation.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Element } from '../xml/element.ts';
import { StreamError } from '../errors.ts';
import type { ElementTransport } from '../transport.ts';

/** Parsed elements waiting for their turn before the transport stops being read. */
const MAX_INBOX = 32;
/** A peer that never closes its side after ours is cut off after this. */
const CLOSE_GRACE_MS = 2000;

/** What the parser hands over, processed strictly in order. */
type Inbound = Element | { end: true } | { error: StreamError };

/** The stream's share of the `limits` section (periods in ms, sizes in bytes). */
export interface StreamLimits {
  readonly idle_timeout: number;
  readonly ping_timeout: number;
  readonly max_output_buffer: number;
  readonly output_stall_timeout: number;
}

export abstract class XmlStream {
  protected readonly transport: ElementTransport;
  protected readonly log: Logger;
  readonly #limits: StreamLimits;
  #closed = false;
  #headerSent = false;
  #idleTimer: NodeJS.Timeout | undefined;
  /** A probe went out after idle_timeout of silence; ping_timeout more and the peer is gone. */
  #probeTimer: NodeJS.Timeout | undefined;
  /** Runs while the output stays above max_output_buffer; ends the stream when it fires. */
  #stallTimer: NodeJS.Timeout | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #inbox: Inbound[] = [];
  #busy = false;
  #inputPaused = false;
  #drainWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  /** The peer closed the stream itself (</stream:stream>), after everything it had read. */
  #peerEnded = false;

  constructor(transport: ElementTransport, limits: StreamLimits, log: Logger) {
    this.transport = transport;
    this.#limits = limits;
    this.log = log;
    transport.attach({
      streamStart: (attrs, name) => this.#onStreamStart(attrs, name),
      element: (e) => this.#enqueue(e),
      streamEnd: () => this.#enqueue({ end: true }),
      error: (err) => this.#enqueue({ error: err }),
      activity: () => this.#touch(),
    });
    transport.onDrain(() => this.#onDrain());
    transport.onClose(() => this.#onTransportClosed());
    this.#touch();
  }

  // --- what a role implements --------------------------------------------------------------

  /** The peer's stream header (first, or after a restart). Throw a StreamError to refuse it. */
  protected abstract onHeader(attrs: Record<string, string>, name: string): void;
  /** One element, in order; the next waits until the returned promise settles. */
  protected abstract onElement(e: Element): Promise<void>;
  /** An element's handler threw something other than a StreamError: answer for that element only. */
  protected abstract onElementFailed(e: Element, err: unknown, errorId: string): void;
  /**
   * The stream is over: no further output; release what the role holds. `how` says whether the
   * XML stream was closed (by either side, with or without an error) or the connection just went
   * away under it (what stream resumption, XEP-0198, is for).
   */
  protected abstract onClosed(how: 'stream' | 'connection'): void;

  // --- what a role uses --------------------------------------------------------------------

  get isClosed(): boolean {
    return this.#closed;
  }

  /** The peer closed the stream cleanly: what it was sent before has reached it. */
  protected get closedByPeer(): boolean {
    return this.#peerEnded;
  }

  /** Sends our stream header (RFC 6120 §4.7) with the role's attributes and a fresh id. */
  protected openStream(attrs: Record<string, string>): void {
    if (this.#closed) return;
    this.transport.openStream({ ...attrs, id: randomBytes(12).toString('base64url'), version: '1.0', 'xml:lang': 'en' });
    this.#headerSent = true;
  }

  /**
   * idle_timeout of silence: asks the peer for a sign of life (an <r/> or a ping) and returns
   * true, or returns false when it can't be asked (then the stream ends with <connection-timeout/>).
   */
  protected probe(): boolean {
    return false;
  }

  /** The default namespace and 'from' our header carries when we must answer before knowing more. */
  protected abstract fallbackHeader(): Record<string, string>;

  /** Writes an element; the caller decides whether a backed-up peer may still get it. */
  protected write(e: Element, serialized?: string): void {
    if (this.#closed) return;
    this.transport.send(e, serialized);
    if (this.backlogged()) this.#stallTimer ??= setTimeout(() => this.#onStalled(), this.#limits.output_stall_timeout).unref();
  }

  /** More is waiting to be sent than max_output_buffer: the peer is not reading. */
  protected backlogged(): boolean {
    return this.transport.pendingBytes >= this.#limits.max_output_buffer;
  }

  /** Ends the stream with an error (RFC 6120 §4.9): our header first if we haven't sent one. */
  protected fail(err: StreamError): void {
    if (this.#closed) return;
    if (!this.#headerSent) this.openStream(this.fallbackHeader());
    this.log.debug({ condition: err.condition }, 'stream error');
    this.transport.closeStream(err);
    this.#close();
  }

  /** Closes the stream: with a stream error, or cleanly (RFC 6120 §4.4). */
  close(err?: StreamError): void {
    if (err) return this.fail(err);
    if (this.#closed) return;
    this.transport.closeStream();
    this.#close();
  }

  /** The peer will open a new stream (after STARTTLS or SASL success). */
  protected restart(): void {
    this.#headerSent = false;
    this.transport.restart();
  }

  /** A timer that ends the stream with <connection-timeout/> unless cancelled first. */
  protected deadline(ms: number, text: string): () => void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      this.fail(new StreamError('connection-timeout', text));
    }, ms);
    t.unref();
    this.#timers.add(t);
    return () => {
      clearTimeout(t);
      this.#timers.delete(t);
    };
  }

  /** Resolves once every element received so far has been handled. */
  protected whenIdle(): Promise<void> {
    return this.#busy ? new Promise((r) => this.#idleWaiters.push(r)) : Promise.resolve();
  }

  // --- the machinery -----------------------------------------------------------------------

  #onStreamStart(attrs: Record<string, string>, name: string): void {
    try {
      this.onHeader(attrs, name);
    } catch (err) {
      if (err instanceof StreamError) return this.fail(err);
      this.log.error({ err }, 'stream header handling failed');
      this.fail(new StreamError('internal-server-error'));
    }
  }

  #touch(): void {
    if (this.#probeTimer) {
      clearTimeout(this.#probeTimer);
      this.#probeTimer = undefined;
    }
    if (this.#idleTimer) this.#idleTimer.refresh();
    else {
      this.#idleTimer = setTimeout(() => this.#onSilent(), this.#limits.idle_timeout);
      this.#idleTimer.unref();
    }
  }

  #onSilent(): void {
    if (this.#closed) return;
    if (!this.probe()) return this.fail(new StreamError('connection-timeout'));
    // No answer: the connection is dead (TCP keepalive may take far longer to notice). Dropped
    // rather than closed with a stream error, so a session with XEP-0198 can still be resumed.
    this.#probeTimer = setTimeout(() => {
      this.#probeTimer = undefined;
      this.log.debug('no answer to the liveness probe: connection dropped');
      this.transport.destroy();
    }, this.#limits.ping_timeout);
    this.#probeTimer.unref();
  }

  #onDrain(): void {
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    for (const wake of this.#drainWaiters.splice(0)) wake();
  }

  /** RFC 6120 §4.9.3.15 policy-violation: the peer left its output unread for too long. */
  #onStalled(): void {
    this.#stallTimer = undefined;
    if (!this.backlogged()) return;
    this.fail(new StreamError('policy-violation', 'You are not reading from the connection'));
    this.transport.destroy();
  }

  #enqueue(item: Inbound): void {
    this.#inbox.push(item);
    // Stop reading while the queue is full: the rest waits in the peer's TCP buffers, not ours.
    if (this.#inbox.length >= MAX_INBOX || !(item instanceof Element)) this.#pauseInput();
    if (!this.#busy) void this.#work();
  }

  /** Works the inbox off in order; waits (not reading) while the peer's output is backed up. */
  async #work(): Promise<void> {
    this.#busy = true;
    for (let item = this.#inbox.shift(); item !== undefined; item = this.#inbox.shift()) {
      if (!this.#closed && this.backlogged()) {
        this.#pauseInput();
        await new Promise<void>((r) => this.#drainWaiters.push(r));
      }
      if (!(item instanceof Element)) {
        if ('end' in item) {
          this.#peerEnded = true;
          this.close();
        }
        else this.fail(item.error);
        continue;
      }
      try {
        await this.onElement(item);
      } catch (err) {
        if (err instanceof StreamError) this.fail(err);
        else this.onElementFailed(item, err, randomBytes(6).toString('hex'));
      }
    }
    this.#busy = false;
    for (const wake of this.#idleWaiters.splice(0)) wake();
    this.#resumeInput();
  }

  #pauseInput(): void {
    if (this.#inputPaused) return;
    this.#inputPaused = true;
    this.transport.pause();
  }

  #resumeInput(): void {
    if (!this.#inputPaused || this.#closed) return;
    this.#inputPaused = false;
    this.transport.resume();
  }

  #close(): void {
    this.#closed = true;
    this.#release('stream');
    this.transport.end();
    // A peer that never closes its side is cut off after a grace period.
    setTimeout(() => this.transport.destroy(), CLOSE_GRACE_MS).unref();
  }

  #onTransportClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#release('connection');
  }

  #release(how: 'stream' | 'connection'): void {
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#probeTimer);
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const wake of this.#drainWaiters.splice(0)) wake();
    this.onClosed(how);
  }
}
