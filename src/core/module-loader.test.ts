// Tests for the module loader: dependency order, refused configurations (cycles, missing
// dependencies), declared stores only, and that unloading undoes every registration.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { el } from './xml/element.ts';
import { ConfigError } from './errors.ts';
import { SessionManager } from './sessions.ts';
import { Router } from './router.ts';
import { Accounts } from './accounts.ts';
import { RetentionEngine } from './retention.ts';
import { HostRuntime, loadHostModules, orderModules, validateHostModules, type HostModulesConfig, type LoaderDeps } from './module-loader.ts';
import { defineModule, privacyOf, type AnyModule, type ModuleContext, type ModuleSpec, type ServerInfo } from './modules.ts';
import { SqliteBackend } from '../storage/sqlite.ts';
import { testStorage } from '../storage/test-storage.ts';

const HOST = 'example.com';
const silent = pino({ level: 'silent' });

/** A module that does nothing but what `setup` says (defaults: no stores, no options, off by default). */
function mod(name: string, over: Partial<ModuleSpec> = {}): AnyModule {
  return defineModule({ name, description: `${name} (test)`, stores: {}, enabledByDefault: false, options: {}, setup() {}, ...over });
}

function registryOf(...mods: AnyModule[]): Map<string, AnyModule> {
  return new Map(mods.map((m) => [m.name, m]));
}

function enabled(...names: string[]): HostModulesConfig {
  return { modules: new Map(names.map((n) => [n, { options: {}, lines: new Map<string, number>() }])) };
}

/** One host's real core pieces: router, sessions, retention engine and an in-memory store. */
class Host {
  readonly rt = new HostRuntime(HOST);
  // The same in-memory store as the other in-process tests (src/modules/roster/in-process-host.fixture.ts).
  readonly storage = testStorage(new SqliteBackend({ path: ':memory:' }));
  readonly sessions = new SessionManager();
  readonly retention = new RetentionEngine(silent);
  readonly router = new Router(this.sessions, new Accounts(this.storage, 4096), (h) => (h === HOST ? this.rt.hooks : undefined), silent);
  readonly server: ServerInfo = { name: 'JabberX', version: 'test', hosts: [HOST], isLocalHost: (d) => d === HOST };

  get deps(): LoaderDeps {
    return { server: this.server, retention: this.retention, storage: this.storage, sessions: this.sessions, router: this.router, log: silent };
  }

  load(registry: Map<string, AnyModule>, cfg = enabled(...registry.keys())): Promise<void> {
    return loadHostModules(this.rt, cfg, registry, this.deps);
  }
}

describe('module loader: order and refused configurations', () => {
  it('loads an `after` module first only when it is enabled too', () => {
    const user = mod('user', { after: ['provider'] });
    const provider = mod('provider');
    const registry = registryOf(user, provider);
    assert.deepEqual(orderModules(['user', 'provider'], registry, HOST).map((m) => m.name), ['provider', 'user']);
    assert.deepEqual(orderModules(['user'], registry, HOST).map((m) => m.name), ['user']);
  });

  it('sets modules up after their dependencies, whatever the configured order', async () => {
    const order: string[] = [];
    const a = mod('a', { setup: () => void order.push('a') });
    const b = mod('b', { dependencies: ['a'], setup: () => void order.push('b') });
    const c = mod('c', { dependencies: ['b', 'a'], setup: () => void order.push('c') });
    const registry = registryOf(c, b, a);
    assert.deepEqual(orderModules(['c', 'b', 'a'], registry, HOST).map((m) => m.name), ['a', 'b', 'c']);
    const h = new Host();
    await h.load(registry, enabled('c', 'a', 'b'));
    assert.deepEqual(order, ['a', 'b', 'c']);
    assert.deepEqual(h.rt.loaded, ['a', 'b', 'c']);
    await h.rt.unload(silent);
  });

  it('refuses a dependency cycle with a ConfigError naming the module and the cycle', async () => {
    let setUp = false;
    const registry = registryOf(
      mod('a', { dependencies: ['b'], setup: () => void (setUp = true) }),
      mod('b', { dependencies: ['c'] }),
      mod('c', { dependencies: ['a'] }),
      mod('d'),
    );
    const check = (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.option, 'modules.a');
      assert.equal(e.host, HOST);
      assert.match(e.message, /dependency cycle: a -> b -> c -> a/);
      return true;
    };
    assert.throws(() => orderModules(['d', 'a', 'b', 'c'], registry, HOST), check);
    assert.throws(() => validateHostModules(HOST, enabled('d', 'a', 'b', 'c'), registry), check);
    const self = registryOf(mod('s', { dependencies: ['s'] }));
    assert.throws(() => orderModules(['s'], self, HOST), /modules\.s .*dependency cycle: s -> s/);
    // Nothing is set up when the configuration is refused.
    await assert.rejects(new Host().load(registry, enabled('d', 'a', 'b', 'c')), ConfigError);
    assert.equal(setUp, false);
  });

  it('refuses a missing dependency: disabled on this host, or not known at all', async () => {
    const registry = registryOf(mod('a'), mod('b', { dependencies: ['a'] }), mod('c', { dependencies: ['nowhere'] }));
    assert.throws(
      () => orderModules(['b'], registry, HOST),
      (e: unknown) => e instanceof ConfigError && e.option === 'modules.b' && /needs module a, which is disabled/.test(e.message),
    );
    assert.throws(
      () => validateHostModules(HOST, enabled('c'), registry),
      (e: unknown) => e instanceof ConfigError && e.option === 'modules.c' && /needs module nowhere, which is not known/.test(e.message),
    );
    assert.throws(() => orderModules(['mystery'], registry, HOST), (e: unknown) => e instanceof ConfigError && e.option === 'modules.mystery');
    await assert.rejects(new Host().load(registry, enabled('b')), /needs module a, which is disabled/);
  });

  it('validates each module\'s options with the module named', () => {
    const registry = registryOf(mod('a'));
    const cfg: HostModulesConfig = { modules: new Map([['a', { options: { bogus: 1 }, lines: new Map([['bogus', 7]]) }]]) };
    assert.throws(() => validateHostModules(HOST, cfg, registry), (e: unknown) => e instanceof ConfigError && e.option.startsWith('modules.a') && e.line === 7);
  });
});

describe('module loader: declared stores only', () => {
  let h: Host;
  before(async () => {
    h = new Host();
    await h.storage.open();
  });
  after(async () => {
    await h.rt.unload(silent);
    await h.storage.close();
  });

  it('opens the stores a module declares, of their kind', async () => {
    let ctx: ModuleContext<unknown> | undefined;
    const notes = mod('notes', {
      stores: { notes: { kind: 'keyval', what: 'Notes', detail: 'what you note' }, index: { kind: 'map', partOf: 'notes' } },
      setup: (c) => void (ctx = c as ModuleContext<unknown>),
    });
    await h.load(registryOf(notes));
    assert.ok(ctx);
    await ctx.store.keyval<string>('notes').set('alice', 'hello');
    assert.equal(await ctx.store.keyval<string>('notes').get('alice'), 'hello');
    await ctx.store.map<number>('index').set('alice', 'k', 1);
    assert.equal(await ctx.store.map<number>('index').get('alice', 'k'), 1);
  });

  it('refuses at setup a store the module does not declare, or declares with another kind', async () => {
    const sneaky = mod('sneaky', { stores: { log: { kind: 'archive', what: 'Log', detail: 'x' } }, setup: (c) => void c.store.keyval('contacts') });
    await assert.rejects(new Host().load(registryOf(sneaky)), /module sneaky opens store contacts, which it does not declare/);
    const wrongKind = mod('wrong', { stores: { log: { kind: 'archive', what: 'Log', detail: 'x' } }, setup: (c) => void c.store.map('log') });
    await assert.rejects(new Host().load(registryOf(wrongKind)), /module wrong opens store log as map, but declares it as archive/);
    // Not fooled by names every object has.
    const proto = mod('proto', { setup: (c) => void c.store.keyval('toString') });
    await assert.rejects(new Host().load(registryOf(proto)), /does not declare/);
  });

  it('derives the privacy statement from the declarations', () => {
    const m = mod('m', {
      stores: {
        items: { kind: 'map', what: 'Items', detail: 'your items' },
        'items-meta': { kind: 'keyval', partOf: 'items' },
        history: { kind: 'archive', what: 'History', detail: 'messages after delivery', chatHistory: true },
      },
    });
    assert.deepEqual(m.privacy, { stored: [{ what: 'Items', detail: 'your items' }, { what: 'History', detail: 'messages after delivery' }], archive: true });
    assert.deepEqual(privacyOf({ name: 'none', stores: {} }), { stored: [] });
    assert.throws(() => mod('bad', { stores: { meta: { kind: 'keyval', partOf: 'missing' } } }), /store meta is partOf missing/);
  });
});

describe('module loader: unloading undoes every registration', () => {
  it('removes hooks, IQ handlers, disco and stream features, timers, retention rules, and runs onClose', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    const h = new Host();
    let hookCalls = 0;
    let ticks = 0;
    const closed: string[] = [];
    const handler = () => undefined;
    const feature = () => el('feature-x', { xmlns: 'urn:test' });
    const first = mod('first', {
      setup(ctx) {
        ctx.hooks.on('user/deleted', () => void hookCalls++);
        ctx.iq.get('host', 'urn:test', 'query', handler);
        ctx.iq.set('account', 'urn:test', 'query', handler);
        ctx.disco.addFeature('urn:test');
        ctx.disco.addFeature('urn:shared');
        ctx.disco.addAccountFeature('urn:test:account');
        ctx.disco.addIdentity({ category: 'server', type: 'im' });
        ctx.disco.addItem({ jid: `svc.${HOST}` });
        ctx.streamFeatures.add(feature);
        ctx.preauth.iq('urn:test:preauth', handler);
        ctx.preauth.feature(feature);
        ctx.every(10_000, () => void ticks++);
        ctx.retention('test data', 60_000, () => 0);
        ctx.onClose(() => void closed.push('first'));
      },
    });
    const second = mod('second', {
      dependencies: ['first'],
      setup(ctx) {
        ctx.disco.addFeature('urn:shared');
        ctx.onClose(() => void closed.push('second'));
      },
    });
    await h.load(registryOf(first, second));

    assert.deepEqual([...h.rt.features].sort(), ['urn:shared', 'urn:test']);
    assert.deepEqual([...h.rt.accountFeatures], ['urn:test:account']);
    assert.equal(h.rt.identities.length, 1);
    assert.equal(h.rt.items.length, 1);
    assert.deepEqual(h.rt.streamFeatures, [feature]);
    assert.deepEqual([...h.rt.preauthIq.keys()], ['urn:test:preauth']);
    assert.deepEqual(h.rt.preauthFeatures, [feature]);
    assert.deepEqual(h.retention.rules().map((r) => r.name), ['test data']);
    await h.rt.hooks.emit('user/deleted', { host: HOST, user: 'alice' });
    assert.equal(hookCalls, 1);
    assert.throws(() => h.router.addIqHandler(HOST, 'host', 'get', 'urn:test', 'query', handler), /already registered/);
    t.mock.timers.tick(1000); // the first run, soon after start
    t.mock.timers.tick(10_000);
    assert.equal(ticks, 2);

    await h.rt.unload(silent);

    assert.deepEqual(closed, ['second', 'first'], 'onClose runs, the last loaded first');
    assert.equal(h.rt.features.size, 0);
    assert.equal(h.rt.accountFeatures.size, 0);
    assert.deepEqual(h.rt.identities, []);
    assert.deepEqual(h.rt.items, []);
    assert.deepEqual(h.rt.streamFeatures, []);
    assert.equal(h.rt.preauthIq.size, 0);
    assert.deepEqual(h.rt.preauthFeatures, []);
    assert.deepEqual(h.retention.rules(), []);
    await h.rt.hooks.emit('user/deleted', { host: HOST, user: 'bob' });
    assert.equal(hookCalls, 1, 'the hook is gone');
    // Both IQ handlers are gone: registering them again is no duplicate.
    h.router.addIqHandler(HOST, 'host', 'get', 'urn:test', 'query', handler)();
    h.router.addIqHandler(HOST, 'account', 'set', 'urn:test', 'query', handler)();
    t.mock.timers.tick(100_000);
    assert.equal(ticks, 2, 'the periodic task is stopped');
    // Unloading twice does nothing more.
    await h.rt.unload(silent);
    assert.deepEqual(closed, ['second', 'first']);
  });

  it('keeps unloading when one clean-up fails', async () => {
    const h = new Host();
    const closed: string[] = [];
    const m = mod('m', {
      setup(ctx) {
        ctx.onClose(() => void closed.push('one'));
        ctx.onClose(() => {
          throw new Error('clean-up bug');
        });
        ctx.disco.addFeature('urn:test');
      },
    });
    await h.load(registryOf(m));
    await h.rt.unload(silent);
    assert.deepEqual(closed, ['one']);
    assert.equal(h.rt.features.size, 0);
  });
});
