// When is a stanza out of the server's hands? A receipt follows one stanza through routing: every
// copy that lands in a recipient's XEP-0198 queue holds it until that recipient acknowledges the
// copy (or the copy is rerouted when the session ends). The sender's own stream management acks
// the stanza only then, so a crash (kill -9) never loses a stanza the sender believes delivered:
// the sender still has it and sends it again. Offline delivery uses the same receipts to delete a
// stored message only once the client acknowledged it.
import { AsyncLocalStorage } from 'node:async_hooks';

export class DeliveryReceipt {
  /** Copies not yet out of our hands, plus one for the routing still under way. */
  #open = 1;
  #lost = false;
  #settled = false;
  readonly #onSettled: (delivered: boolean) => void;
  /**
   * True when a stored copy remains whatever happens to this one (offline storage): a session
   * that ends without acknowledging loses the copy instead of rerouting it.
   */
  readonly keepsCopy: boolean;

  constructor(keepsCopy: boolean, onSettled: (delivered: boolean) => void) {
    this.keepsCopy = keepsCopy;
    this.#onSettled = onSettled;
  }

  /** One more copy waits for an acknowledgement; false when the receipt is settled already. */
  hold(): boolean {
    if (this.#settled) return false;
    this.#open++;
    return true;
  }

  /** A held copy was acknowledged, rerouted, or written to a stream that acknowledges nothing. */
  delivered(): void {
    this.#drop();
  }

  /** A held copy went with its session, unacknowledged (only for receipts that keep a copy). */
  lost(): void {
    this.#lost = true;
    this.#drop();
  }

  /** The routing that made the copies is over. */
  routed(): void {
    this.#drop();
  }

  #drop(): void {
    if (this.#settled || --this.#open > 0) return;
    this.#settled = true;
    this.#onSettled(!this.#lost);
  }
}

const current = new AsyncLocalStorage<DeliveryReceipt>();

/** Runs a routing with `receipt` as the receipt of every copy it queues. */
export function withReceipt<T>(receipt: DeliveryReceipt, fn: () => T): T {
  return current.run(receipt, fn);
}

/** The receipt of the stanza being routed, if its sender waits for one. */
export function currentReceipt(): DeliveryReceipt | undefined {
  return current.getStore();
}
