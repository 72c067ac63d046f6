// XEP-0198 Stream Management (v1.6): the counters and the queue of unacknowledged stanzas of one
// session (§4), and the table of sessions that can be resumed (§5). A resumable session keeps its
// unacknowledged stanzas in memory only, for the resumption timeout only.
import { randomBytes } from 'node:crypto';
import type { Element } from '../xml/element.ts';
import type { DeliveryReceipt } from '../delivery-receipt.ts';

export const NS_SM = 'urn:xmpp:sm:3';

/** §4: "h" counts modulo 2^32. */
const MOD = 2 ** 32;

export interface SmLimits {
  /** Most unacknowledged stanzas kept for a session. */
  maxUnacked: number;
  /** Most bytes of unacknowledged stanzas kept for a session. */
  maxUnackedBytes: number;
}

/** A stanza sent to the client, kept until acknowledged, with the receipt of its original. */
export interface Unacked {
  stanza: Element;
  bytes: number;
  receipt: DeliveryReceipt | undefined;
}

/** The acknowledgement state of one session, both directions. */
export class StreamManagement {
  readonly id = randomBytes(18).toString('base64url');
  readonly resumable: boolean;
  /** Stanzas received from the client (plain count; reported mod 2^32). */
  #received = 0;
  /**
   * Stanzas out of our hands, counted over the longest settled prefix: what our <a h/> says.
   * A message is settled once every copy of it was acknowledged, stored or bounced.
   */
  #settled = 0;
  /** Sequence numbers settled ahead of an older one still in flight. */
  readonly #early = new Set<number>();
  /** Set when an <a/> reported fewer stanzas than received: the next advance is reported unasked. */
  owesAck = false;
  readonly #limits: SmLimits;
  /** Stanzas sent to the client and not yet acknowledged, oldest first. */
  readonly #queue: Unacked[] = [];
  #bytes = 0;
  /** The count of stanzas sent, as the client's h will say it (mod 2^32). */
  #sent = 0;

  constructor(resumable: boolean, limits: SmLimits) {
    this.resumable = resumable;
    this.#limits = limits;
  }

  /** Whether one more stanza of this size can be kept until acknowledged. */
  hasRoomFor(bytes: number): boolean {
    return this.#queue.length < this.#limits.maxUnacked && this.#bytes + bytes <= this.#limits.maxUnackedBytes;
  }

  /**
   * A stanza went out (or waits for the client to come back): kept until acknowledged. The
   * receipt of the stanza being routed, if any, waits for that acknowledgement too.
   */
  sent(stanza: Element, bytes: number, receipt?: DeliveryReceipt): void {
    this.#queue.push({ stanza, bytes, receipt: receipt?.hold() ? receipt : undefined });
    this.#bytes += bytes;
    this.#sent = (this.#sent + 1) % MOD;
  }

  /** What our <a h/> says: the stanzas from the client that are out of our hands (§4). */
  get inbound(): number {
    return this.#settled % MOD;
  }

  /** Stanzas received from the client whose fate is not settled yet. */
  get inFlight(): number {
    return this.#received - this.#settled;
  }

  /**
   * A stanza arrived from the client: its sequence number, to settle later. Past maxUnacked
   * stanzas in flight the oldest counts as settled anyway (it stays in the recipient's queue),
   * so one recipient that never acknowledges can't grow this bookkeeping without bound.
   */
  received(): number {
    if (this.#received - this.#settled >= this.#limits.maxUnacked) this.#advance(this.#settled + 1);
    return this.#received++;
  }

  /** The stanza numbered `seq` is out of our hands; true when that moved what <a h/> says. */
  settle(seq: number): boolean {
    if (seq < this.#settled) return false;
    if (seq > this.#settled) {
      this.#early.add(seq);
      return false;
    }
    this.#advance(seq + 1);
    return true;
  }

  /** A stanza handled at once (anything but a routed message). */
  handled(): void {
    this.settle(this.received());
  }

  /**
   * §5 resumption: everything received counts as handled. The server is alive and settles what
   * is still in flight itself; reporting less would make the client send it again, twice.
   */
  settleAll(): void {
    this.#advance(this.#received);
  }

  #advance(to: number): void {
    if (to > this.#settled + 1) for (const seq of this.#early) if (seq < to) this.#early.delete(seq);
    this.#settled = Math.max(this.#settled, to);
    while (this.#early.delete(this.#settled)) this.#settled++;
  }

  get unackedCount(): number {
    return this.#queue.length;
  }

  /**
   * The client's <a h/> (or the h of <resume/>): drops what it has. Returns false when h
   * acknowledges more than was sent (§4: the server then ends the stream).
   */
  ack(h: number): boolean {
    const gotten = (this.#sent - h + MOD) % MOD;
    if (gotten > this.#queue.length) return false;
    const acked = this.#queue.length - gotten;
    for (const { bytes, receipt } of this.#queue.splice(0, acked)) {
      this.#bytes -= bytes;
      receipt?.delivered();
    }
    return true;
  }

  /** The stanzas still unacknowledged, oldest first; they stay queued (resent on resumption). */
  unacked(): Element[] {
    return this.#queue.map((q) => q.stanza);
  }

  /** Empties the queue (the session is over; the caller settles what it held). */
  drain(): Unacked[] {
    const all = this.#queue.splice(0);
    this.#bytes = 0;
    return all;
  }

  get sentCount(): number {
    return this.#sent;
  }
}

/** Sessions waiting to be resumed, by stream id; bounded so detached sessions can't pile up. */
export class ResumptionTable<T> {
  readonly #byId = new Map<string, T>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** False when the table is full: the session is then not resumable. */
  add(id: string, entry: T): boolean {
    if (this.#byId.size >= this.#max) return false;
    this.#byId.set(id, entry);
    return true;
  }

  get(id: string): T | undefined {
    return this.#byId.get(id);
  }

  delete(id: string): void {
    this.#byId.delete(id);
  }

  get size(): number {
    return this.#byId.size;
  }
}
