// IQs the server itself sends (e.g. a XEP-0115 disco#info query to a client) and the replies it
// waits for (RFC 6120 §8.2.3: a result or error with the same id, from the addressee). Bounded:
// past MAX_PENDING a new request fails at once rather than growing the table.
import { randomBytes } from 'node:crypto';
import { StanzaError } from './errors.ts';
import type { Element } from './xml/element.ts';

const MAX_PENDING = 10_000;

interface Pending {
  from: string;
  resolve: (reply: Element) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class IqRequests {
  readonly #pending = new Map<string, Pending>();

  /** Gives `iq` a fresh id and resolves with the result (rejects with the error, or on timeout). */
  track(iq: Element, timeoutMs: number): Promise<Element> {
    if (this.#pending.size >= MAX_PENDING) return Promise.reject(new Error('too many IQs waiting for replies'));
    const id = `jx-${randomBytes(9).toString('base64url')}`;
    iq.attrs['id'] = id;
    return new Promise<Element>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new StanzaError('remote-server-timeout', 'No reply'));
      }, timeoutMs).unref();
      this.#pending.set(id, { from: iq.attrs['to'] ?? '', resolve, reject, timer });
    });
  }

  /** A result or error for the server: true when it answered one of our requests. */
  settle(reply: Element, from: string): boolean {
    const id = reply.attrs['id'];
    const p = id === undefined ? undefined : this.#pending.get(id);
    // Only the addressee may answer (RFC 6120 §8.2.3 and §10.1: ids are not secrets).
    if (!p || p.from !== from) return false;
    this.#pending.delete(id ?? '');
    clearTimeout(p.timer);
    if (reply.attrs['type'] === 'result') p.resolve(reply);
    else p.reject(new Error(`IQ error: ${reply.getChild('error')?.elements[0]?.name ?? 'undefined-condition'}`));
    return true;
  }
}
