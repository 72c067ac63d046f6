// XEP-0198 Stream Management (v1.6): the counters and the queue of unacknowledged stanzas of one
// session (§4), and the table of sessions that can be resumed (§5). A resumable session keeps its
// unacknowledged stanzas in memory only, for the resumption timeout only.
import { randomBytes } from 'node:crypto';
import type { Element } from '../xml/element.ts';

export const NS_SM = 'urn:xmpp:sm:3';

/** §4: "h" counts modulo 2^32. */
const MOD = 2 ** 32;

export interface SmLimits {
  /** Most unacknowledged stanzas kept for a session. */
  maxUnacked: number;
  /** Most bytes of unacknowledged stanzas kept for a session. */
  maxUnackedBytes: number;
}

/** The acknowledgement state of one session, both directions. */
export class StreamManagement {
  readonly id = randomBytes(18).toString('base64url');
  readonly resumable: boolean;
  /** Stanzas handled from the client (what our <a h/> says). */
  inbound = 0;
  readonly #limits: SmLimits;
  /** Stanzas sent to the client and not yet acknowledged, oldest first. */
  readonly #queue: { stanza: Element; bytes: number }[] = [];
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

  /** A stanza went out (or waits for the client to come back): kept until acknowledged. */
  sent(stanza: Element, bytes: number): void {
    this.#queue.push({ stanza, bytes });
    this.#bytes += bytes;
    this.#sent = (this.#sent + 1) % MOD;
  }

  handled(): void {
    this.inbound = (this.inbound + 1) % MOD;
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
    for (const { bytes } of this.#queue.splice(0, acked)) this.#bytes -= bytes;
    return true;
  }

  /** The stanzas still unacknowledged, oldest first; they stay queued (resent on resumption). */
  unacked(): Element[] {
    return this.#queue.map((q) => q.stanza);
  }

  /** Empties the queue (the session is over; the caller handles what it held). */
  drain(): Element[] {
    const all = this.unacked();
    this.#queue.length = 0;
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
