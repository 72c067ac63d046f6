// Data a module left behind when the operator turned it off on a host: its stores there still hold
// records, no retention rule purges them any more (the module doesn't run), and only the operator
// can erase them (`jabberx purge-module`). Until then the server says so at start, and /privacy
// states that data as stored (src/policy/facts.ts, `leftover`), so the policy never claims less
// than what is kept. Only built-in modules count: their store declarations are the ones that can
// have written to this data directory.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { domainToASCII } from 'node:url';
import type { ServerConfig } from '../core/config.ts';
import type { AnyModule, StoreKind } from '../core/modules.ts';
import type { StorageBackend } from '../core/storage.ts';
import { moduleRegistry } from '../modules/registry.ts';
import type { OperationsDeps } from './deps.ts';

/** One store of a module that is off on the host but still holds data there. */
export interface LeftoverStore {
  readonly host: string;
  readonly module: string;
  readonly store: string;
  readonly kind: StoreKind;
}

/** What purge-module erased: one line per store that held records (never any content). */
export interface PurgedStore extends LeftoverStore {
  readonly records: number;
}

/** The operator asked to erase the data of a module that is on: nothing was erased. */
export class ModuleEnabledError extends Error {
  override name = 'ModuleEnabledError';
}

/** Where ctx.sealedFiles keeps a module's files on a host (src/core/module-loader.ts). */
function moduleFilesDir(config: ServerConfig, host: string, module: string): string {
  return join(config.data_dir, 'files', domainToASCII(host) || host, module);
}

/**
 * The stores of `module` on `host` that the module would own while off there: a store another
 * module enabled on the host declares (same kind and name) belongs to that one and is never touched.
 */
function ownStores(config: ServerConfig, host: string, mod: AnyModule, registry: ReadonlyMap<string, AnyModule>): { store: string; kind: StoreKind }[] {
  const enabled = config.hosts.get(host)?.modules;
  if (!enabled) return [];
  const taken = new Set<string>();
  for (const name of enabled.keys()) {
    for (const [store, decl] of Object.entries(registry.get(name)?.stores ?? {})) taken.add(`${decl.kind}\u0000${store}`);
  }
  return Object.entries(mod.stores)
    .filter(([store, decl]) => !taken.has(`${decl.kind}\u0000${store}`))
    .map(([store, decl]) => ({ store, kind: decl.kind }));
}

/** Every store of a built-in module turned off on a host that still holds data there (one indexed lookup per store). */
export async function findLeftoverData(config: ServerConfig, storage: StorageBackend, registry: ReadonlyMap<string, AnyModule>): Promise<LeftoverStore[]> {
  const out: LeftoverStore[] = [];
  for (const [host, hc] of config.hosts) {
    for (const [name, mod] of moduleRegistry) {
      if (hc.modules.has(name)) continue;
      for (const { store, kind } of ownStores(config, host, mod, registry)) {
        if (await storage.storeHasData(host, kind, store)) out.push({ host, module: name, store, kind });
      }
    }
  }
  return out;
}

/** Logs each leftover store: module, host and store name only, never what it holds. */
export function warnLeftoverData(log: OperationsDeps['log'], leftovers: readonly LeftoverStore[]): void {
  for (const l of leftovers) {
    log.warn(
      { module: l.module, host: l.host, store: l.store },
      `module ${l.module} is turned off on ${l.host} but its store ${l.store} still holds data there: nothing purges it while the module is off, and /privacy states it as kept; erase it with "jabberx purge-module ${l.module} --host ${l.host}"`,
    );
  }
}

/**
 * Erases every store of a built-in module on the named hosts (all hosts where it is off when none
 * are named), and its files there; refuses, erasing nothing, where the module is on.
 */
export async function purgeModule(deps: OperationsDeps, module: string, hosts: readonly string[] = []): Promise<PurgedStore[]> {
  const mod = moduleRegistry.get(module);
  if (!mod) throw new Error(`${module} is not a module of this server (modules: ${[...moduleRegistry.keys()].join(', ')})`);
  const config = deps.config;
  for (const h of hosts) if (!config.hosts.has(h)) throw new Error(`${h} is not a host of this server`);
  const enabledOn = [...config.hosts].filter(([, hc]) => hc.modules.has(module)).map(([h]) => h);
  const named = hosts.filter((h) => enabledOn.includes(h));
  if (named.length > 0) throw new ModuleEnabledError(`module ${module} is enabled on ${named.join(', ')}: its data there is in use; turn it off in the configuration and restart first (nothing was erased)`);
  const targets = hosts.length > 0 ? [...new Set(hosts)] : [...config.hosts.keys()].filter((h) => !enabledOn.includes(h));
  if (targets.length === 0) throw new ModuleEnabledError(`module ${module} is enabled on every host (${enabledOn.join(', ')}): there is nothing left behind to erase (nothing was erased)`);
  const out: PurgedStore[] = [];
  for (const host of targets) {
    for (const { store, kind } of ownStores(config, host, mod, deps.registry)) {
      const records = await deps.storage.eraseStore(host, kind, store);
      if (records > 0) out.push({ host, module, store, kind, records });
    }
    const dir = moduleFilesDir(config, host, module);
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }
  await deps.leftover.refresh(deps);
  return out;
}

/**
 * The leftover stores as last found (at start, and after each purge-module): what /privacy states.
 * `changed` runs after a purge changed them (the server re-dates its policy).
 */
export class LeftoverData {
  #stores: readonly LeftoverStore[] = [];
  readonly #changed: () => Promise<void>;

  constructor(changed: () => Promise<void> = async () => undefined) {
    this.#changed = changed;
  }

  get stores(): readonly LeftoverStore[] {
    return this.#stores;
  }

  /** Looks again; runs `changed` when the result differs from before. */
  async refresh(deps: Pick<OperationsDeps, 'config' | 'storage' | 'registry'>): Promise<readonly LeftoverStore[]> {
    const before = JSON.stringify(this.#stores);
    this.#stores = await findLeftoverData(deps.config, deps.storage, deps.registry);
    if (JSON.stringify(this.#stores) !== before) await this.#changed();
    return this.#stores;
  }
}
