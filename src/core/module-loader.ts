// Loads modules per host in dependency order and builds their contexts; every registration made
// through a context is tracked and undone on unload (as Prosody and ejabberd do).
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { domainToASCII } from 'node:url';
import type { Logger } from 'pino';
import type { Element } from './xml/element.ts';
import { Hooks, type HookHandler, type HookName, type Phase } from './hooks.ts';
import { parseOptions, type OptionDecls } from './options.ts';
import { ConfigError } from './errors.ts';
import type { AccountDiscoHandler, AnyModule, Bind2Handler, PreauthIqHandler, DiscoData, DiscoIdentity, DiscoItem, DiscoNodeHandler, IqHandler, IqTarget, ModuleContext, ServerInfo, SessionState, StoreKind } from './modules.ts';
import type { SessionInfo } from './session.ts';
import type { StorageBackend, Json } from './storage.ts';
import type { SessionManager } from './sessions.ts';
import type { Router } from './router.ts';
import type { RetentionEngine } from './retention.ts';
import { parseJid } from './jid.ts';
import { SharedServices } from './shared.ts';
import type { HttpRoutes } from './http-routes.ts';
import type { AccountsApi } from './modules.ts';

export interface HostModulesConfig {
  /** Enabled module name -> raw options, with line numbers for error messages. */
  modules: Map<string, { options: Record<string, unknown>; lines: Map<string, number>; line?: number }>;
}

/** What one host exposes to the core: its hooks, disco data and stream features. */
export class HostRuntime implements DiscoData {
  readonly name: string;
  readonly hooks = new Hooks();
  readonly features = new Set<string>();
  readonly accountFeatures = new Set<string>();
  readonly identities: DiscoIdentity[] = [];
  readonly items: DiscoItem[] = [];
  readonly nodes = new Map<string, DiscoNodeHandler>();
  readonly accountHandlers: AccountDiscoHandler[] = [];
  readonly streamFeatures: (() => Element)[] = [];
  /** XEP-0386 Bind 2 inline features, by namespace. */
  readonly bind2Features = new Map<string, Bind2Handler>();
  /** Handlers of IQs before authentication, by payload namespace, and the features offered there. */
  readonly preauthIq = new Map<string, PreauthIqHandler>();
  readonly preauthFeatures: (() => Element | undefined)[] = [];
  readonly loaded: string[] = [];
  readonly shared = new SharedServices();
  readonly #disposers: (() => void | Promise<void>)[] = [];

  constructor(name: string) {
    this.name = name;
  }

  addDisposer(fn: () => void | Promise<void>): void {
    this.#disposers.push(fn);
  }

  async unload(log: Logger): Promise<void> {
    for (const fn of this.#disposers.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        log.warn({ err, host: this.name }, 'module cleanup failed');
      }
    }
  }
}

export interface LoaderDeps {
  server: ServerInfo;
  /** Absent only in in-process test hosts. */
  retention?: RetentionEngine;
  storage: StorageBackend;
  sessions: SessionManager;
  router: Router;
  log: Logger;
  /** Account operations per host; absent only in in-process test hosts (ctx.accounts then throws). */
  accounts?: (host: string) => AccountsApi;
  /** Bare JIDs of the service's administrators (security.admins). */
  admins?: () => readonly string[];
  /** Web routes of the HTTP(S) listeners; absent only in in-process test hosts. */
  httpRoutes?: HttpRoutes;
  /** The base URL of a host's web pages (ctx.http.baseUrl). */
  webBase?: (host: string) => string | undefined;
  /** data_dir, for the modules' file folders (ctx.sealedFiles); absent in in-process test hosts. */
  dataDir?: string;
}

/** What a module's wrapped file key is bound to: another host or module can't open it. */
export function fileKeyContext(host: string, module: string, context: string): string {
  return `${host}\u0000${module}\u0000${context}`;
}

/** Orders modules so that dependencies come first; a missing or cyclic dependency is a ConfigError. */
export function orderModules(names: string[], registry: ReadonlyMap<string, AnyModule>, host: string): AnyModule[] {
  const out: AnyModule[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): void => {
    const mod = registry.get(name);
    if (!mod) throw new ConfigError(`modules.${name}`, 'unknown module', { host });
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name].join(' -> ');
      throw new ConfigError(`modules.${name}`, `dependency cycle: ${cycle}`, { host });
    }
    state.set(name, 'visiting');
    path.push(name);
    for (const dep of mod.dependencies ?? []) {
      if (!registry.has(dep)) throw new ConfigError(`modules.${name}`, `needs module ${dep}, which is not known`, { host });
      if (!names.includes(dep)) throw new ConfigError(`modules.${name}`, `needs module ${dep}, which is disabled`, { host });
      visit(dep);
    }
    for (const opt of mod.after ?? []) if (names.includes(opt)) visit(opt);
    path.pop();
    state.set(name, 'done');
    out.push(mod);
  };
  for (const n of names) visit(n);
  return out;
}

/** Validates every module's options for a host without starting anything (check-config). */
export function validateHostModules(host: string, cfg: HostModulesConfig, registry: ReadonlyMap<string, AnyModule>): void {
  for (const mod of orderModules([...cfg.modules.keys()], registry, host)) {
    const raw = cfg.modules.get(mod.name);
    parseOptions(mod.options, raw?.options ?? {}, `modules.${mod.name}`, { host, lines: raw?.lines });
  }
}

export async function loadHostModules(rt: HostRuntime, cfg: HostModulesConfig, registry: ReadonlyMap<string, AnyModule>, deps: LoaderDeps): Promise<void> {
  for (const mod of orderModules([...cfg.modules.keys()], registry, rt.name)) {
    const raw = cfg.modules.get(mod.name);
    const options = parseOptions(mod.options as OptionDecls, raw?.options ?? {}, `modules.${mod.name}`, { host: rt.name, lines: raw?.lines });
    const ctx = makeContext(rt, mod, options, deps);
    await mod.setup(ctx);
    rt.loaded.push(mod.name);
  }
}

/** The name of a store the module declares with this kind; anything else is a bug of the module. */
function declaredStore(mod: AnyModule, name: string, kind: StoreKind): string {
  const decl = Object.hasOwn(mod.stores, name) ? mod.stores[name] : undefined;
  if (!decl) throw new Error(`module ${mod.name} opens store ${name}, which it does not declare in its stores`);
  if (decl.kind !== kind) throw new Error(`module ${mod.name} opens store ${name} as ${kind}, but declares it as ${decl.kind}`);
  return name;
}

/** Appends to a list; the returned disposer removes that very entry. */
function pushTo<T>(list: T[], item: T): () => void {
  list.push(item);
  return () => {
    const i = list.lastIndexOf(item);
    if (i >= 0) list.splice(i, 1);
  };
}

/** Adds to a set; the disposer removes the value only if this call added it (another module may share it). */
function addTo(set: Set<string>, value: string): () => void {
  if (set.has(value)) return () => undefined;
  set.add(value);
  return () => void set.delete(value);
}

function makeContext(rt: HostRuntime, mod: AnyModule, options: unknown, deps: LoaderDeps): ModuleContext<never> {
  const host = rt.name;
  const log = deps.log.child({ module: mod.name, host });
  const iq = (type: 'get' | 'set') => (target: IqTarget, ns: string, name: string, handler: IqHandler) => {
    rt.addDisposer(deps.router.addIqHandler(host, target, type, ns, name, handler));
  };
  const timers: NodeJS.Timeout[] = [];
  rt.addDisposer(() => timers.forEach((t) => clearInterval(t)));
  const hostJid = parseJid(host);
  const ctx: ModuleContext<unknown> = {
    name: mod.name,
    host,
    server: deps.server,
    options,
    log,
    sessions: deps.sessions,
    iq: { get: iq('get'), set: iq('set') },
    hooks: {
      on<K extends HookName>(name: K, handler: HookHandler<K>, phase?: Phase) {
        rt.addDisposer(rt.hooks.on(name, handler, phase));
      },
      emit: (name, event) => rt.hooks.emit(name, event),
    },
    discoData: rt,
    disco: {
      addItem: (item) => rt.addDisposer(pushTo(rt.items, item)),
      addFeature: (ns) => rt.addDisposer(addTo(rt.features, ns)),
      addIdentity: (id) => rt.addDisposer(pushTo(rt.identities, id)),
      addAccountFeature: (ns) => rt.addDisposer(addTo(rt.accountFeatures, ns)),
      addAccountHandler: (handler) => rt.addDisposer(pushTo(rt.accountHandlers, handler)),
      addNode(node, handler) {
        if (rt.nodes.has(node)) throw new Error(`module ${mod.name}: disco node ${node} is already served`);
        rt.nodes.set(node, handler);
        rt.addDisposer(() => void rt.nodes.delete(node));
      },
    },
    streamFeatures: {
      add: (f) => rt.addDisposer(pushTo(rt.streamFeatures, f)),
      inline(ns, handler) {
        if (rt.bind2Features.has(ns)) throw new Error(`module ${mod.name}: Bind 2 inline feature ${ns} is already registered`);
        rt.bind2Features.set(ns, handler);
        rt.addDisposer(() => void rt.bind2Features.delete(ns));
      },
    },
    preauth: {
      iq(ns, handler) {
        if (rt.preauthIq.has(ns)) throw new Error(`module ${mod.name}: pre-auth IQ namespace ${ns} is already handled`);
        rt.preauthIq.set(ns, handler);
        rt.addDisposer(() => void rt.preauthIq.delete(ns));
      },
      feature: (f) => rt.addDisposer(pushTo(rt.preauthFeatures, f)),
    },
    store: {
      keyval: <T extends Json>(name: string) => deps.storage.keyval<T>(host, declaredStore(mod, name, 'keyval')),
      map: <T extends Json>(name: string) => deps.storage.map<T>(host, declaredStore(mod, name, 'map')),
      archive: <T extends Json>(name: string) => deps.storage.archive<T>(host, declaredStore(mod, name, 'archive')),
    },
    async deliver(stanza, session) {
      const toAttr = stanza.attrs['to'];
      if (!session && !toAttr) throw new Error(`${mod.name}: ctx.deliver needs a session or a 'to' address`);
      if (!stanza.attrs['from']) stanza.attrs['from'] = host;
      const from = parseJid(stanza.attrs['from'] ?? host);
      return deps.router.deliverToSession(stanza, from, session ? session.jid : parseJid(toAttr ?? ''));
    },
    directedPresence: (session) => [...deps.sessions.directed(session)],
    async request(iq, timeoutMs = 10_000) {
      const toAttr = iq.attrs['to'];
      if (!toAttr) throw new Error(`${mod.name}: ctx.request needs a 'to' address`);
      if (!iq.attrs['from']) iq.attrs['from'] = host;
      const reply = deps.router.requests.track(iq, timeoutMs);
      await deps.router.route(iq, parseJid(iq.attrs['from'] ?? host), parseJid(toAttr));
      return reply;
    },
    sessionState<T>(): SessionState<T> {
      // Keyed by the info object the directory hands out, forgotten when the session closes.
      const states = new Map<SessionInfo, T>();
      rt.addDisposer(rt.hooks.on('session/closed', ({ session }) => void states.delete(session), 'last'));
      rt.addDisposer(() => states.clear());
      return {
        get: (session) => states.get(session),
        set: (session, value) => void states.set(session, value),
        delete: (session) => void states.delete(session),
      };
    },
    services: {
      claim(domain, handler) {
        rt.addDisposer(deps.router.claimService(domain, handler));
      },
    },
    async route(stanza) {
      const from = stanza.attrs['from'] ? parseJid(stanza.attrs['from']) : hostJid;
      const toAttr = stanza.attrs['to'];
      if (!toAttr) throw new Error(`${mod.name}: ctx.route needs a 'to' address`);
      if (!stanza.attrs['from']) stanza.attrs['from'] = host;
      await deps.router.route(stanza, from, parseJid(toAttr));
    },
    retention(name, maxAgeMs, purge) {
      if (deps.retention) rt.addDisposer(deps.retention.register({ name, host, maxAgeMs, purge }));
    },
    every(periodMs, fn) {
      const run = async () => {
        try {
          await fn();
        } catch (err) {
          log.error({ err }, 'periodic task failed');
        }
      };
      timers.push(setTimeout(() => void run(), 1000).unref());
      timers.push(setInterval(() => void run(), periodMs).unref());
    },
    onClose(fn) {
      rt.addDisposer(fn);
    },
    get accounts(): AccountsApi {
      if (!deps.accounts) throw new Error(`${mod.name}: accounts are not available in this host`);
      return deps.accounts(host);
    },
    isAdmin: (jid) => (deps.admins?.() ?? []).includes(jid.bareString),
    http: {
      route(prefix, handler, opts) {
        if (deps.httpRoutes) rt.addDisposer(deps.httpRoutes.add(host, prefix, handler, opts));
      },
      baseUrl: () => deps.webBase?.(host),
    },
    sealedFiles: {
      dir() {
        if (deps.dataDir === undefined) return undefined;
        const dir = join(deps.dataDir, 'files', domainToASCII(host) || host, mod.name);
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        return dir;
      },
      newKey(context) {
        const key = randomBytes(32);
        return { key, wrapped: deps.storage.wrapKey(key, fileKeyContext(host, mod.name, context)) };
      },
      openKey: (wrapped, context) => deps.storage.unwrapKey(wrapped, fileKeyContext(host, mod.name, context)),
    },
    shared: {
      provide: (name, value) => rt.addDisposer(rt.shared.provide(name, value)),
      get: (name) => rt.shared.get(name),
    },
  };
  return ctx as ModuleContext<never>;
}

