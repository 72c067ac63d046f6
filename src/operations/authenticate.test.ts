// AccountsApi.authenticate: a password login outside XMPP counts in the SASL throttle and obeys it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../core/config.ts';
import { builtinModuleNames, defaultModuleNames } from '../modules/registry.ts';
import { Server } from '../server.ts';
import { hostAccounts } from './accounts.ts';

describe('AccountsApi.authenticate', () => {
  let dir: string;
  let server: Server;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jabberx-auth-'));
    const config = parseConfigText(['data_dir: data', 'log: { level: silent }', 'auth: { scram_iterations: 4096 }', 'security: { failed_login_max_per_address: 2, failed_login_max_per_account: 3 }'].join('\n'), dir, {
      knownModules: builtinModuleNames,
      defaultModules: defaultModuleNames,
    });
    server = new Server(config);
    await server.start({ listen: false });
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says ok, wrong, throttled (per address, then per account) and disabled', async () => {
    const accounts = hostAccounts(server.operations, 'localhost');
    await accounts.create('alice', 'right-password');
    assert.equal(await accounts.authenticate('alice', 'right-password', '192.0.2.10'), 'ok');
    assert.equal(await accounts.authenticate('alice', 'wrong', '192.0.2.10'), 'wrong');
    assert.equal(await accounts.authenticate('alice', 'wrong', '192.0.2.10'), 'wrong');
    // The address is over its limit: even the right password is refused from it, not from another.
    assert.equal(await accounts.authenticate('alice', 'right-password', '192.0.2.10'), 'throttled');
    assert.equal(await accounts.authenticate('alice', 'right-password', '192.0.2.11'), 'ok');
    assert.deepEqual(server.throttle.entries().accounts.map((e) => [e.key, e.failures]), [['alice@localhost', 2]]);
    // A third failure locks the account for addresses that failed.
    assert.equal(await accounts.authenticate('alice', 'wrong', '192.0.2.12'), 'wrong');
    assert.equal(await accounts.authenticate('alice', 'right-password', '192.0.2.12'), 'throttled');
    assert.equal(await accounts.authenticate('alice', 'right-password', '192.0.2.13'), 'ok');
    await accounts.setDisabled('alice', true);
    assert.equal(await accounts.authenticate('alice', 'right-password', '192.0.2.14'), 'disabled');
    assert.equal(await accounts.authenticate('nobody', 'x', '192.0.2.14'), 'wrong');
  });
});
