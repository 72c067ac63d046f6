// Tests for the operator commands on a stopped server (store and modules, no listeners): the same
// code the control socket runs on a running one (test/privacy/blocks-and-debug.test.ts and
// src/modules/roster/roster-e2e.test.ts drive that path through the CLI).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../core/config.ts';
import { AccountError } from '../core/accounts.ts';
import { builtinModuleNames, defaultModuleNames } from '../modules/registry.ts';
import { Server } from '../server.ts';
import { handleControlRequest, runOperation } from './control.ts';
import { stampPolicy } from './policy.ts';

describe('operations on a stopped server', () => {
  let dir: string;
  const config = (security = '') =>
    parseConfigText(['data_dir: data', 'log: { level: silent }', 'auth: { scram_iterations: 4096 }', `security: { blocked_ips: [192.0.2.1]${security} }`].join('\n'), dir, {
      knownModules: builtinModuleNames,
      defaultModules: defaultModuleNames,
    });
  /** Runs fn on a server started without listeners, as the CLI does when none runs. */
  async function offline<T>(fn: (server: Server) => Promise<T>, security = ''): Promise<T> {
    const server = new Server(config(security));
    await server.start({ listen: false });
    try {
      return await fn(server);
    } finally {
      await server.stop();
    }
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jabberx-ops-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('manages accounts, running the modules\' hooks', async () => {
    await offline(async (s) => {
      const ops = s.operations;
      let deleted = '';
      s.host('localhost')?.hooks.on('user/deleted', ({ user }) => void (deleted = user));
      await runOperation(ops, 'adduser', { host: 'localhost', user: 'alice', password: 'pw-1' });
      await runOperation(ops, 'adduser', { host: 'localhost', user: 'bob', password: 'pw-2' });
      await assert.rejects(runOperation(ops, 'adduser', { host: 'localhost', user: 'alice', password: 'x' }), AccountError);
      await assert.rejects(runOperation(ops, 'adduser', { host: 'elsewhere.example', user: 'x', password: 'x' }), /elsewhere\.example is not a host of this server/);
      await runOperation(ops, 'passwd', { host: 'localhost', user: 'alice', password: 'pw-3' });
      assert.deepEqual((await runOperation(ops, 'list-users', { host: 'localhost' })).sort(), ['alice', 'bob']);
      await runOperation(ops, 'deluser', { host: 'localhost', user: 'bob' });
      assert.equal(deleted, 'bob');
      assert.deepEqual(await runOperation(ops, 'list-users', { host: 'localhost' }), ['alice']);
    });
  });

  it('keeps run-time blocks in the store, configured ones in the configuration', async () => {
    await offline(async (s) => {
      assert.deepEqual(await runOperation(s.operations, 'block', { rule: '203.0.113.0/24' }), { changed: true, closed: 0 });
      assert.deepEqual(await runOperation(s.operations, 'block', { rule: '192.0.2.1' }), { changed: false, closed: 0 });
    });
    await offline(async (s) => {
      assert.deepEqual(await runOperation(s.operations, 'blocks', {}), ['192.0.2.1/32', '203.0.113.0/24']);
      await runOperation(s.operations, 'unblock', { rule: '203.0.113.0/24' });
    });
    await offline(async (s) => assert.deepEqual(await runOperation(s.operations, 'blocks', {}), ['192.0.2.1/32']));
  });

  it('answers status and debug, and rotates the data key', async () => {
    await offline(async (s) => {
      const status = await runOperation(s.operations, 'status', {});
      assert.equal(status.sessions, 0);
      assert.equal(status.connections, 0);
      assert.deepEqual(status.hosts, ['localhost']);
      const on = await runOperation(s.operations, 'debug', { mode: 'on', for: '1h' });
      assert.equal(on.enabled, true);
      assert.ok(on.until && existsSync(on.file));
      assert.deepEqual(await runOperation(s.operations, 'debug', { mode: 'off' }), { enabled: false, file: on.file });
      assert.equal(existsSync(on.file), false);
      await assert.rejects(runOperation(s.operations, 'debug', { mode: 'sideways' }), /debug takes on, off or status/);
      const first = await runOperation(s.operations, 'rotate-key', { dataKey: true });
      const second = await runOperation(s.operations, 'rotate-key', { dataKey: true });
      assert.ok('activeDataKey' in first && 'activeDataKey' in second && second.activeDataKey > first.activeDataKey);
    });
  });

  it('dates the policy: the same facts keep their date, a changed limit moves it', async () => {
    const [a, b] = await offline(async (s) => [await stampPolicy(s.operations), await stampPolicy(s.operations)]);
    assert.equal(a, b);
    const c = await offline((s) => stampPolicy(s.operations), ', failed_login_window: 5m');
    assert.ok(c > (a ?? ''), `${c} after ${a}`);
  });

  it('refuses an unknown control command', async () => {
    await offline(async (s) => {
      await assert.rejects(handleControlRequest(s.operations, { command: 'toString', args: {} }), /unknown control command toString/);
    });
  });
});
