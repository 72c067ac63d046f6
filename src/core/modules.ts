// The module API: a feature registers only through its ModuleContext; the loader undoes
// every registration on unload (hooks, IQ handlers, features, timers, close callbacks).
import type { Logger } from 'pino';
import type { Element } from './xml/element.ts';
import type { Jid } from './jid.ts';
import type { SessionDirectory, SessionInfo } from './session.ts';
import type { HookHandler, HookMap, HookName, Phase } from './hooks.ts';
import type { ArchiveStore, Json, KeyValueStore, MapStore } from './storage.ts';
import type { OptionDecls, OptionValues } from './options.ts';
import type { SharedMap, SharedName } from './shared.ts';
import type { HttpRouteHandler, HttpRouteOptions } from './http-routes.ts';

export interface XepRef {
  number: number;
  version: string;
  /** 'complete' unless noted; 'partial' needs a note saying what is missing. */
  status?: 'complete' | 'partial';
  note?: string;
}

/** An IQ request as a handler sees it. */
export interface IqRequest {
  stanza: Element;
  /** The payload element (first child). */
  payload: Element;
  from: Jid;
  /** The addressee: the domain, or the local account's bare JID (a missing 'to' means the sender's own). */
  to: Jid;
  /** True when the addressee is the sender's own account. */
  isSelf: boolean;
  origin: SessionInfo | undefined;
}

/** Returns the result payload (or nothing for an empty result); throws StanzaError for an error. */
export type IqHandler = (req: IqRequest) => Element | undefined | Promise<Element | undefined>;

/** A stream not yet authenticated (after TLS), as a pre-auth IQ handler sees it. */
export interface PreauthStream {
  /** The peer address, for rate limits only: never logged or stored. */
  readonly peerAddress: string | undefined;
  /** State a module keeps for this stream only (e.g. a CAPTCHA challenge, an invite token); gone with the stream. */
  readonly values: Map<string, unknown>;
}

/** An IQ get/set received before authentication (e.g. XEP-0077 registration). */
export interface PreauthIqRequest {
  stanza: Element;
  payload: Element;
  type: 'get' | 'set';
  stream: PreauthStream;
}

/**
 * Returns the result payload (or nothing); throws StanzaError for an error reply, StreamError to
 * end the stream (e.g. too many attempts).
 */
export type PreauthIqHandler = (req: PreauthIqRequest) => Element | undefined | Promise<Element | undefined>;

/** Where an IQ handler listens: the domain itself, or local accounts' bare JIDs. */
export type IqTarget = 'host' | 'account';

export interface DiscoIdentity {
  category: string;
  type: string;
  name?: string;
}

export interface DiscoItem {
  jid: string;
  name?: string;
  /** XEP-0030 §4.1: an item that is a node of `jid` (e.g. a XEP-0050 command). */
  node?: string;
}

/**
 * A node of the host's disco tree (XEP-0030 §3.2, §4.2), e.g. XEP-0050's list of commands: it
 * answers the disco#info and disco#items queries that name it, per requester. A handler may
 * throw a StanzaError (e.g. forbidden); a missing one answers item-not-found.
 */
export interface DiscoNodeHandler {
  info?(from: Jid): { identities: DiscoIdentity[]; features: string[] };
  items?(from: Jid): DiscoItem[];
}

/**
 * What a module adds to the disco of local accounts' bare JIDs, answered on the account's behalf
 * (e.g. PEP, XEP-0163: the pubsub/pep identity and the account's nodes). Asked per requester.
 */
export interface AccountDiscoHandler {
  /** Identities added to the account's disco#info (no node). */
  readonly identities?: readonly DiscoIdentity[];
  /** disco#info of a node of the account; undefined when it is not this module's node. */
  nodeInfo?(owner: Jid, from: Jid, node: string): Promise<{ identities: DiscoIdentity[]; features: string[]; forms?: Element[] } | undefined>;
  /** Items of the account (node undefined) or of one of its nodes; undefined for a node that is not this module's. */
  items?(owner: Jid, from: Jid, node: string | undefined): Promise<DiscoItem[] | undefined>;
}

export interface DiscoData {
  readonly identities: readonly DiscoIdentity[];
  readonly features: ReadonlySet<string>;
  readonly accountFeatures: ReadonlySet<string>;
  readonly items: readonly DiscoItem[];
  readonly nodes: ReadonlyMap<string, DiscoNodeHandler>;
  readonly accountHandlers: readonly AccountDiscoHandler[];
}

export interface ServerInfo {
  readonly name: string;
  readonly version: string;
  readonly hosts: readonly string[];
  isLocalHost(domain: string): boolean;
  /** The service's name for people (policy.service_name), where the server knows it. */
  readonly serviceName?: string;
}

/**
 * Account operations on the module's host, with the same effects as the operator's commands:
 * deletion ends the sessions and erases everything (the address is free at once), creation and
 * deletion run the user/created and user/deleted hooks.
 */
export interface AccountsApi {
  exists(user: string): Promise<boolean>;
  /** Throws AccountError (src/core/accounts.ts) when the name is taken or the password unusable. */
  create(user: string, password: string): Promise<void>;
  setPassword(user: string, password: string): Promise<void>;
  checkPassword(user: string, password: string): Promise<boolean>;
  /**
   * A password login outside XMPP (the web pages), through the same brute-force throttle as SASL:
   * a refused address or a locked account gives 'throttled', a wrong password is counted (and
   * answered late past the threshold), a suspended account gives 'disabled' once the password is right.
   */
  authenticate(user: string, password: string, peerAddress: string | undefined): Promise<'ok' | 'wrong' | 'throttled' | 'disabled'>;
  /** `reason`: the text of the <not-authorized/> stream error its open sessions get. */
  delete(user: string, reason?: string): Promise<void>;
  /** Suspends (ending its sessions) or re-enables an account; its data stays. */
  setDisabled(user: string, disabled: boolean): Promise<void>;
  isDisabled(user: string): Promise<boolean>;
  list(): Promise<string[]>;
  /** Ends the account's sessions with a <not-authorized/> stream error saying `reason`. */
  endSessions(user: string, reason: string): void;
  /** Everything stored of the account as a XEP-0227 document (the user's copy of their data). */
  exportXml(user: string): Promise<string>;
}

export interface ModuleContext<O> {
  readonly name: string;
  readonly host: string;
  readonly server: ServerInfo;
  readonly options: O;
  readonly log: Logger;
  readonly sessions: SessionDirectory;
  readonly iq: {
    get(target: IqTarget, ns: string, name: string, handler: IqHandler): void;
    set(target: IqTarget, ns: string, name: string, handler: IqHandler): void;
  };
  readonly hooks: {
    /** Listens to a hook for this module's host only (events carry the host via JIDs or fields). */
    on<K extends HookName>(name: K, handler: HookHandler<K>, phase?: Phase): void;
    /** Runs a hook a module declares (e.g. 'pep/published') on this host; true when a handler took it. */
    emit<K extends HookName>(name: K, event: HookMap[K]): Promise<boolean>;
  };
  /** The host's disco data as registered by all modules (read by the disco module). */
  readonly discoData: DiscoData;
  readonly disco: {
    /** An item of the domain (disco#items), e.g. a MUC service or a gateway. */
    addItem(item: DiscoItem): void;
    /** A feature of the domain (disco#info to the host). */
    addFeature(ns: string): void;
    addIdentity(identity: DiscoIdentity): void;
    /** A feature of every local account (disco#info to a bare JID), e.g. XEP-0191 is per host. */
    addAccountFeature(ns: string): void;
    /** A node of the domain's disco tree (one module per node). */
    addNode(node: string, handler: DiscoNodeHandler): void;
    /** Identities, nodes and items of every local account's disco (bare JIDs). */
    addAccountHandler(handler: AccountDiscoHandler): void;
  };
  readonly streamFeatures: {
    /** A stream feature offered after authentication (e.g. <ver xmlns='urn:xmpp:features:rosterver'/>). */
    add(feature: () => Element): void;
    /**
     * A session feature a client can enable while it binds, inside a XEP-0386 Bind 2 request
     * (listed by its namespace in the Bind 2 stream feature): the same effect as enabling it
     * right after binding. One module per namespace.
     */
    inline(ns: string, handler: Bind2Handler): void;
  };
  /**
   * Before authentication (after TLS): IQs whose payload is in `ns` come to `handler` (one module
   * per namespace; any other IQ still ends the stream), and stream features offered there (a
   * feature function returning undefined offers nothing this time).
   */
  readonly preauth: {
    iq(ns: string, handler: PreauthIqHandler): void;
    feature(feature: () => Element | undefined): void;
  };
  /** Opens a store the module declares in `stores`, of the declared kind; anything else throws. */
  readonly store: {
    keyval<T extends Json>(name: string): KeyValueStore<T>;
    map<T extends Json>(name: string): MapStore<T>;
    archive<T extends Json>(name: string): ArchiveStore<T>;
  };
  /** Routes a stanza as the server (presence on behalf of users, errors, stanzas to anyone). */
  route(stanza: Element): Promise<void>;
  /**
   * Hands a stanza to one bound session: `session`, or else the one its 'to' names (a full JID),
   * through the account's inbound filters, so nothing bypasses blocking. The stanza keeps its
   * 'to' (a subscription request stays addressed to the bare JID). False when that session is
   * gone or backed up: the caller stores or bounces it.
   */
  deliver(stanza: Element, session?: SessionInfo): Promise<boolean>;
  /**
   * Sends an IQ get/set from the host (or its 'from') and resolves with the addressee's result;
   * rejects with its error, or after timeoutMs (default 10 s). The id is set here.
   */
  request(iq: Element, timeoutMs?: number): Promise<Element>;
  /** Full JIDs a session has sent directed presence to (RFC 6121 §4.6): the router keeps them. */
  directedPresence(session: SessionInfo): readonly string[];
  /** This module's own state per bound session, typed; forgotten when the session closes. */
  sessionState<T>(): SessionState<T>;
  readonly services: {
    /** Claims a service domain (e.g. conference.example.org): every stanza to it and its JIDs comes to `handler`. */
    claim(domain: string, handler: (stanza: Element, from: Jid, to: Jid) => Promise<void> | void): void;
  };
  /**
   * A retention limit of this module's data (e.g. offline messages after 7 days): the server's
   * retention engine calls purge at start and periodically, and states the limit on /privacy.
   */
  retention(name: string, maxAgeMs: number, purge: (cutoff: Date) => Promise<number> | number): void;
  /** Runs fn every period (ms) and once soon after start; errors are logged, never thrown. */
  every(periodMs: number, fn: () => Promise<void> | void): void;
  onClose(fn: () => Promise<void> | void): void;
  readonly accounts: AccountsApi;
  /** True for a bare JID listed in `security.admins` (XEP-0133 commands, account invites). */
  isAdmin(jid: Jid): boolean;
  readonly http: {
    /** Serves paths at and under `prefix` (e.g. '/account') on the HTTP(S) listeners for this host (src/core/http-routes.ts). */
    route(prefix: string, handler: HttpRouteHandler, opts?: HttpRouteOptions): void;
    /**
     * Where this host's web pages are reached, e.g. 'https://example.org:5281' (the https
     * listener, else the http one, at the host's name); undefined without either.
     */
    baseUrl(): string | undefined;
  };
  /**
   * Files a module keeps outside the stores (e.g. uploaded files), encrypted by the module with
   * one key per file: the key is wrapped by the storage key hierarchy, bound to this host, this
   * module and `context` (e.g. the file's name on disk), so the module never sees the master key.
   */
  readonly sealedFiles: {
    /** This module's folder on this host under data_dir, made (mode 0700) on first use; undefined in in-process test hosts. */
    dir(): string | undefined;
    /** A new random 256-bit key and its wrapped form, to keep with the file's metadata. */
    newKey(context: string): { key: Buffer; wrapped: string };
    /** The key again; throws when the wrapped form was altered or made for another context. */
    openKey(wrapped: string, context: string): Buffer;
  };
  /** Services modules on this host offer each other (src/core/shared.ts). */
  readonly shared: {
    provide<K extends SharedName>(name: K, value: SharedMap[K]): void;
    get<K extends SharedName>(name: K): SharedMap[K] | undefined;
  };
}

/**
 * Enables a feature for a session being bound with XEP-0386 Bind 2, from the request's child in
 * the feature's namespace; returns what goes into <bound/>, if anything.
 */
export type Bind2Handler = (session: SessionInfo, request: Element) => Element | undefined;

/** Per-session state of one module, keyed by the session's full JID. */
export interface SessionState<T> {
  get(session: SessionInfo): T | undefined;
  set(session: SessionInfo, value: T): void;
  delete(session: SessionInfo): void;
}

/** The kinds of store a module can open (src/core/storage.ts). */
export type StoreKind = 'keyval' | 'map' | 'archive';

/**
 * A store a module opens, with what the privacy policy says it keeps about people. A store that
 * only serves another one of the module (an index, a version counter) names it in `partOf`.
 */
export type StoreDecl =
  | {
      kind: StoreKind;
      /** The heading on /privacy, e.g. 'Block list'. */
      what: string;
      /** What exactly is kept, in plain words, e.g. 'the addresses you have blocked'. */
      detail: string;
      /** Keeps messages after delivery (a chat history): /privacy then says an archive is kept. */
      chatHistory?: boolean;
    }
  | { kind: StoreKind; partOf: string };

/** What a module keeps about people, derived from its store declarations (see privacyOf). */
export interface ModulePrivacy {
  stored: { what: string; detail: string }[];
  /** Keeps messages after delivery (a chat history). */
  archive?: boolean;
}

/** What a module author writes; defineModule adds the derived `privacy`. */
export interface ModuleSpec<D extends OptionDecls = OptionDecls> {
  name: string;
  description: string;
  /**
   * Every store the module opens, by name: ctx.store refuses any other name or kind, so the
   * privacy policy (src/policy/) and the data export, both derived from this, can't drift from
   * the code. `{}` for a module that stores nothing.
   */
  stores: Record<string, StoreDecl>;
  /**
   * On when the configuration has no top-level `modules` key. A new module that stores data
   * should start with false, so an upgrade doesn't start storing data on every existing install.
   */
  enabledByDefault: boolean;
  xeps?: XepRef[];
  rfcs?: string[];
  options: D;
  /** Modules that must be loaded (on the same host) before this one. */
  dependencies?: string[];
  /** Modules loaded before this one when they are enabled too (e.g. a shared service it uses if present). */
  after?: string[];
  setup(ctx: ModuleContext<OptionValues<D>>): void | Promise<void>;
}

export interface ModuleDefinition<D extends OptionDecls = OptionDecls> extends ModuleSpec<D> {
  /** Derived from `stores` by defineModule (never written by hand). */
  readonly privacy: ModulePrivacy;
}

/**
 * What /privacy states for a module: one entry per store with its own text, in declaration order;
 * `partOf` stores are covered by the entry of the store they serve.
 */
export function privacyOf(mod: Pick<ModuleSpec, 'name' | 'stores'>): ModulePrivacy {
  const stored: ModulePrivacy['stored'] = [];
  let archive = false;
  for (const [store, decl] of Object.entries(mod.stores)) {
    if ('partOf' in decl) {
      const main = mod.stores[decl.partOf];
      if (!main || 'partOf' in main) throw new Error(`module ${mod.name}: store ${store} is partOf ${decl.partOf}, which is not a store of the module with its own privacy text`);
      continue;
    }
    stored.push({ what: decl.what, detail: decl.detail });
    if (decl.chatHistory) archive = true;
  }
  return archive ? { stored, archive } : { stored };
}

/**
 * Declares a module: checks its store declarations and derives its privacy statement from them.
 * Also infers the type of ctx.options.
 */
export function defineModule<D extends OptionDecls>(spec: ModuleSpec<D>): ModuleDefinition<D> {
  return { ...spec, privacy: privacyOf(spec) };
}

export type AnyModule = ModuleDefinition<OptionDecls>;
