// Bound client sessions (RFC 6120 §7, RFC 6121 §4) as the router and modules see them: read-only
// facts in a directory. Presence state is the directory's, written by the router only; stanzas
// reach a session only through the router's delivery (so inbound filters always run).
import type { Element } from './xml/element.ts';
import type { Jid } from './jid.ts';
import type { StreamError } from './errors.ts';

/** The node id of this process; a cluster gives each process its own. */
export const LOCAL_NODE = 'local';

/** What anyone may know of a bound session. Live: the fields follow the session. */
export interface SessionInfo {
  /** The full JID after resource binding. */
  readonly jid: Jid;
  readonly host: string;
  readonly user: string;
  readonly resource: string;
  /** The cluster node the session lives on. */
  readonly node: string;
  /** Last available presence broadcast by the client, or undefined while unavailable. */
  readonly presence: Element | undefined;
  /** Presence priority (RFC 6121 §4.7.2.3), 0 until the client sends one. */
  readonly priority: number;
  /** Its output is over max_output_buffer: it takes no stanzas from others until it drains. */
  readonly backedUp: boolean;
}

/** The stream end of a session: only the core holds it (the stream registers it on bind). */
export interface SessionConnection {
  readonly jid: Jid;
  /** False when not taken (the stream has closed, or its output is backed up). */
  send(stanza: Element): boolean;
  readonly backedUp: boolean;
  close(error?: StreamError): void;
}

/** Read-only queries over bound sessions; the in-process one and a cluster's share a contract suite. */
export interface SessionDirectory {
  get(fullJid: string): SessionInfo | undefined;
  /** All bound sessions of an account. */
  resources(host: string, user: string): SessionInfo[];
  /** Bound sessions that are available (sent available presence) and not backed up. */
  available(host: string, user: string): SessionInfo[];
  count(): number;
}

/** Hands a stanza to a session on some node; the in-process bus knows only local ones. */
export interface DeliveryBus {
  /** True when the session took it; false when it is gone or backed up (the caller stores or bounces). */
  deliver(node: string, fullJid: string, stanza: Element): boolean;
}
