// Typed hooks. Modules extend HookMap by declaration merging:
//   declare module '../../core/hooks.ts' { interface HookMap { 'roster/changed': {...} } }
// A handler returning true stops the chain ("handled"); phases order handlers without magic numbers.

import type { Element } from './xml/element.ts';
import type { Jid } from './jid.ts';
import type { SessionInfo } from './session.ts';

/** A stanza on its way through the router. */
export interface StanzaEvent {
  stanza: Element;
  from: Jid;
  to: Jid;
  /** The local client session it came from, if any. */
  origin: SessionInfo | undefined;
}

export interface HookMap {
  /** A stanza from a local client, before routing (outbound filters: blocking, policy). */
  'stanza/outbound': StanzaEvent;
  /** A stanza about to be delivered to a local account (bare or full JID): inbound filters. */
  'stanza/inbound': StanzaEvent;
  /** A message to a local bare JID or unavailable full JID with no resource to take it. */
  'message/offline': StanzaEvent;
  /** Presence addressed to a local account's bare JID (subscriptions, probes). */
  'presence/bare': StanzaEvent;
  /** Presence without a 'to' from a local client: broadcast to the roster. */
  'presence/broadcast': StanzaEvent & { origin: SessionInfo };
  /** Presence addressed to a domain (the server itself). */
  'presence/host': StanzaEvent;
  /** Message addressed to the domain itself. */
  'message/host': StanzaEvent;
  'session/bound': { session: SessionInfo };
  /** After the session's first available presence (RFC 6121 §4.2). */
  'session/initial-presence': { session: SessionInfo };
  'session/closed': { session: SessionInfo };
  /** The server is stopping: sessions are still open (e.g. MUC tells occupants, XEP-0045 status 332). */
  'server/stopping': { host: string };
  /**
   * A stanza about to be handed to one bound session: the router's single hand-off point, so
   * every delivery (routed, or a module's ctx.deliver) passes here, after the inbound filters
   * and with 'from'/'to' stamped. A handler returning true holds it (e.g. XEP-0352 CSI): the
   * router counts it as taken, and the handler later calls `release()`, which hands this very
   * stanza to the session without running this hook again (true when the session took it).
   */
  'stanza/deliver': { stanza: Element; session: SessionInfo; release: () => boolean };
  // (Handlers of 'stanza/deliver' run synchronously: it is on every delivery.)
  /**
   * An element from a bound client that is not a stanza (a "nonza", e.g. XEP-0352's
   * <inactive/>), in stream order: the stream waits for the handlers before reading on. A handler
   * that understands it returns true; when none does, the stream ends with
   * <unsupported-stanza-type/> as before.
   */
  'stream/nonza': { session: SessionInfo; element: Element };
  'user/created': { host: string; user: string };
  /**
   * An account is about to be deleted: its sessions have ended, its data is still there (e.g. the
   * roster, to tell its contacts). 'user/deleted' follows once everything is erased.
   */
  'user/deleting': { host: string; user: string };
  /**
   * `forImport`: the account goes only to be made again from a XEP-0227 file (--overwrite, or a
   * failed import): what other accounts hold about it (roster entries) stays.
   */
  'user/deleted': { host: string; user: string; forImport?: true };
  /**
   * XEP-0227 export (src/operations/portable.ts): each module that stores the user's data adds its
   * part as a child of <user/> (e.g. <query xmlns='jabber:iq:roster'/>).
   */
  'user/export': { host: string; user: string; add(el: Element): void };
  /**
   * XEP-0227 import: the children of <user/> (credentials left out); each module stores those it
   * understands and ignores the rest. Throwing fails the user's import: the account is removed.
   */
  'user/import': { host: string; user: string; elements: readonly Element[] };
}

export type HookName = keyof HookMap;
export type HookResult = void | boolean | undefined;
export type HookHandler<K extends HookName> = (event: HookMap[K]) => HookResult | Promise<HookResult>;

export const PHASES = ['first', 'early', 'normal', 'late', 'last'] as const;
export type Phase = (typeof PHASES)[number];

interface Entry {
  phase: number;
  handler: (ev: never) => HookResult | Promise<HookResult>;
}

export class Hooks {
  readonly #handlers = new Map<string, Entry[]>();

  /** Adds a handler; returns the function that removes it. */
  on<K extends HookName>(name: K, handler: HookHandler<K>, phase: Phase = 'normal'): () => void {
    const list = this.#handlers.get(name) ?? [];
    const entry: Entry = { phase: PHASES.indexOf(phase), handler: handler as Entry['handler'] };
    list.push(entry);
    list.sort((a, b) => a.phase - b.phase);
    this.#handlers.set(name, list);
    return () => {
      const cur = this.#handlers.get(name);
      if (cur) this.#handlers.set(name, cur.filter((e) => e !== entry));
    };
  }

  has(name: HookName): boolean {
    return (this.#handlers.get(name)?.length ?? 0) > 0;
  }

  /**
   * Runs handlers in phase order, synchronously, for hooks on the hot path whose handlers must
   * not wait ('stanza/deliver'); returns true as soon as one returns true. A handler that returns
   * a promise is a bug: it throws.
   */
  emitSync<K extends HookName>(name: K, event: HookMap[K]): boolean {
    const list = this.#handlers.get(name);
    if (!list) return false;
    for (const { handler } of list) {
      const r = (handler as HookHandler<K>)(event);
      if (r instanceof Promise) throw new TypeError(`${name} handlers must be synchronous`);
      if (r === true) return true;
    }
    return false;
  }

  /** Runs handlers in phase order; resolves true as soon as one returns true. */
  async emit<K extends HookName>(name: K, event: HookMap[K]): Promise<boolean> {
    const list = this.#handlers.get(name);
    if (!list) return false;
    for (const { handler } of list) {
      let r = (handler as HookHandler<K>)(event);
      if (r instanceof Promise) r = await r;
      if (r === true) return true;
    }
    return false;
  }
}
