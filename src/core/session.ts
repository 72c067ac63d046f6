// A bound client session as the router and modules see it (RFC 6120 §7, RFC 6121 §4).
import type { Element } from './xml/element.ts';
import type { Jid } from './jid.ts';
import type { StreamError } from './errors.ts';

export interface Session {
  readonly id: string;
  /** The full JID after resource binding. */
  readonly jid: Jid;
  readonly host: string;
  readonly user: string;
  readonly resource: string;
  /** Last available presence broadcast by the client, or undefined while unavailable. */
  presence: Element | undefined;
  /** Presence priority (RFC 6121 §4.7.2.3), 0 until the client sends one. */
  priority: number;
  /** True once the client has requested its roster (an "interested resource", RFC 6121 §2.1.6). */
  rosterRequested: boolean;
  /** Full JIDs this session sent directed presence to (RFC 6121 §4.6), told when it goes offline. */
  readonly directedPresence: Set<string>;
  /** Its output is over max_output_buffer: it takes no stanzas from others until it drains. */
  readonly backedUp: boolean;
  /** Per-module session state, keyed by module name. */
  readonly data: Map<string, unknown>;
  /**
   * Queues a stanza to the client. False when it was not taken (the stream has closed, or its
   * output is backed up): the caller stores it offline or bounces it, never drops it silently.
   */
  send(stanza: Element): boolean;
  /** Ends the session, with a stream error if given. */
  close(error?: StreamError): void;
}

/** The local sessions of one server process. */
export interface SessionDirectory {
  get(fullJid: string): Session | undefined;
  /** All bound sessions of a local account. */
  resources(host: string, user: string): Session[];
  /** Bound sessions that are available (have sent available presence) and not backed up. */
  available(host: string, user: string): Session[];
  count(): number;
}
