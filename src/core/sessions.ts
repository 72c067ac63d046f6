// The in-process session directory, presence table and delivery bus (RFC 6120 §7 binding,
// §7.7.2.2 conflicts; RFC 6121 §4 presence state). Modules see SessionInfo only; the presence
// fields are written by the router alone, through the methods marked "router".
import { randomBytes } from 'node:crypto';
import type { Element } from './xml/element.ts';
import type { Jid } from './jid.ts';
import { LOCAL_NODE, type DeliveryBus, type SessionConnection, type SessionDirectory, type SessionInfo } from './session.ts';

export type ConflictPolicy = 'kick_old' | 'refuse' | 'random';

/** One bound session: its connection, and the presence state the router keeps for it. */
class Entry implements SessionInfo {
  readonly conn: SessionConnection;
  readonly jid: Jid;
  readonly host: string;
  readonly user: string;
  readonly resource: string;
  readonly node = LOCAL_NODE;
  presence: Element | undefined;
  priority = 0;
  /** Full JIDs this session sent directed presence to (RFC 6121 §4.6). */
  readonly directed = new Set<string>();

  constructor(conn: SessionConnection) {
    this.conn = conn;
    this.jid = conn.jid;
    this.host = conn.jid.domain;
    this.user = conn.jid.local;
    this.resource = conn.jid.resource;
  }

  get backedUp(): boolean {
    return this.conn.backedUp;
  }
}

/** The read-only face of an entry handed out: a module can't reach the connection or mutate. */
function view(e: Entry): SessionInfo {
  return e;
}

export class SessionManager implements SessionDirectory, DeliveryBus {
  readonly #byJid = new Map<string, Entry>();
  /** "user@host" -> entries of that account. */
  readonly #byAccount = new Map<string, Entry[]>();

  get(fullJid: string): SessionInfo | undefined {
    const e = this.#byJid.get(fullJid);
    return e && view(e);
  }

  resources(host: string, user: string): SessionInfo[] {
    return (this.#byAccount.get(user + '@' + host) ?? []).map(view);
  }

  available(host: string, user: string): SessionInfo[] {
    return (this.#byAccount.get(user + '@' + host) ?? []).filter((e) => e.presence !== undefined && !e.conn.backedUp).map(view);
  }

  count(): number {
    return this.#byJid.size;
  }

  deliver(node: string, fullJid: string, stanza: Element): boolean {
    if (node !== LOCAL_NODE) return false;
    return this.#byJid.get(fullJid)?.conn.send(stanza) ?? false;
  }

  /** Every local connection (shutdown, operator commands). */
  connections(): SessionConnection[] {
    return [...this.#byJid.values()].map((e) => e.conn);
  }

  /** The connections of one account (ending them on deletion). */
  accountConnections(host: string, user: string): SessionConnection[] {
    return (this.#byAccount.get(user + '@' + host) ?? []).map((e) => e.conn);
  }

  /**
   * Decides the resource to bind (RFC 6120 §7.7.2.2). With kick_old the clashing connection is
   * returned for the caller to end.
   */
  chooseResource(
    host: string,
    user: string,
    requested: string | undefined,
    policy: ConflictPolicy,
    maxResources: number,
  ): { resource: string; replaces?: SessionConnection } | { error: 'conflict' | 'resource-constraint' } {
    const existing = this.#byAccount.get(user + '@' + host) ?? [];
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
        return { resource: requested, replaces: clash.conn };
    }
  }

  add(conn: SessionConnection): SessionInfo {
    const e = new Entry(conn);
    this.#byJid.set(conn.jid.toString(), e);
    const key = e.user + '@' + e.host;
    const list = this.#byAccount.get(key);
    if (list) list.push(e);
    else this.#byAccount.set(key, [e]);
    return view(e);
  }

  /** Unbinds; returns the session's last state (for the router's goodbyes), or undefined if not bound. */
  remove(conn: SessionConnection): SessionInfo | undefined {
    const jid = conn.jid.toString();
    const e = this.#byJid.get(jid);
    if (e?.conn !== conn) return undefined;
    this.#byJid.delete(jid);
    const key = e.user + '@' + e.host;
    const list = this.#byAccount.get(key)?.filter((s) => s !== e) ?? [];
    if (list.length) this.#byAccount.set(key, list);
    else this.#byAccount.delete(key);
    return view(e);
  }

  // --- router: presence state -------------------------------------------------------------

  /** Router: the session's available presence and priority, or unavailable (undefined). */
  setPresence(info: SessionInfo, presence: Element | undefined, priority: number): void {
    const e = this.#entry(info);
    if (!e) return;
    e.presence = presence;
    e.priority = priority;
  }

  /** Router: the full JIDs a session sent directed presence to (RFC 6121 §4.6). */
  directed(info: SessionInfo): Set<string> {
    return this.#entry(info)?.directed ?? new Set();
  }

  #entry(info: SessionInfo): Entry | undefined {
    return info instanceof Entry ? info : this.#byJid.get(info.jid.toString());
  }
}

function randomResource(): string {
  return 'jx-' + randomBytes(9).toString('base64url');
}
