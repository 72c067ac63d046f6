// Local session table and resource binding (RFC 6120 §7, conflict handling §7.7.2.2).
import { randomBytes } from 'node:crypto';
import type { Session, SessionDirectory } from './session.ts';

export type ConflictPolicy = 'kick_old' | 'refuse' | 'random';

export class SessionManager implements SessionDirectory {
  readonly #byJid = new Map<string, Session>();
  /** "user@host" -> sessions of that account. */
  readonly #byAccount = new Map<string, Session[]>();

  get(fullJid: string): Session | undefined {
    return this.#byJid.get(fullJid);
  }

  resources(host: string, user: string): Session[] {
    return this.#byAccount.get(user + '@' + host) ?? [];
  }

  available(host: string, user: string): Session[] {
    return this.resources(host, user).filter((s) => s.presence !== undefined && !s.backedUp);
  }

  count(): number {
    return this.#byJid.size;
  }

  all(): IterableIterator<Session> {
    return this.#byJid.values();
  }

  /**
   * Decides the resource to bind. Returns the resource, or undefined when the policy refuses
   * (the caller answers <conflict/>). With kick_old the clashing session is returned for the caller to end.
   */
  chooseResource(
    host: string,
    user: string,
    requested: string | undefined,
    policy: ConflictPolicy,
    maxResources: number,
  ): { resource: string; replaces?: Session } | { error: 'conflict' | 'resource-constraint' } {
    const existing = this.resources(host, user);
    if (!requested) return existing.length >= maxResources ? { error: 'resource-constraint' } : { resource: randomResource() };
    const clash = existing.find((s) => s.resource === requested);
    if (!clash) return existing.length >= maxResources ? { error: 'resource-constraint' } : { resource: requested };
    switch (policy) {
      case 'refuse':
        return { error: 'conflict' };
      case 'random':
        return { resource: `${requested}.${randomResource().slice(0, 8)}` };
      case 'kick_old':
        // The caller ends the old session (unavailable presence first, then <conflict/>).
        return { resource: requested, replaces: clash };
    }
  }

  add(session: Session): void {
    this.#byJid.set(session.jid.toString(), session);
    const key = session.user + '@' + session.host;
    const list = this.#byAccount.get(key);
    if (list) list.push(session);
    else this.#byAccount.set(key, [session]);
  }

  remove(session: Session): boolean {
    const jid = session.jid.toString();
    if (this.#byJid.get(jid) !== session) return false;
    this.#byJid.delete(jid);
    const key = session.user + '@' + session.host;
    const list = this.#byAccount.get(key)?.filter((s) => s !== session) ?? [];
    if (list.length) this.#byAccount.set(key, list);
    else this.#byAccount.delete(key);
    return true;
  }
}

function randomResource(): string {
  return 'jx-' + randomBytes(9).toString('base64url');
}
