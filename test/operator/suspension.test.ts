// `jabberx disable` / `enable`: an account is suspended without being deleted (its sessions end,
// its logins are refused with <account-disabled/>, list-users marks it) and restored, on a running
// server and on a stopped one.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { SlixClient, slixmppUnavailable } from '../harness/slixmpp.ts';

/** The failed_auth condition of a refused slixmpp login, or 'ok'. */
async function login(server: TestServer, jid: string, password: string): Promise<string> {
  const c = new SlixClient();
  try {
    await c.connect({ jid, password, port: server.ports.c2s_starttls, timeoutS: 10 });
    return 'ok';
  } catch {
    const failed = c.events.find((e) => e.event === 'failed_auth');
    return failed?.event === 'failed_auth' ? failed.condition : 'no failed_auth';
  } finally {
    await c.close();
  }
}

describe('jabberx disable / enable', { skip: slixmppUnavailable() }, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ users: [['alice@localhost', 'pw-alice'], ['bob@localhost', 'pw-bob']] });
  });
  after(() => server.remove());

  it('on a running server: the sessions end, logins are refused, list-users marks it; enable restores it with its data', async (t) => {
    const alice = await server.connectClient(t, 'alice@localhost');
    const r = await server.cli(['disable', 'alice@localhost']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /disabled alice@localhost/);
    await alice.offline;
    assert.equal(await login(server, 'alice@localhost', 'pw-alice'), 'account-disabled');
    const users = await server.cli(['list-users']);
    assert.match(users.stdout, /^alice@localhost \(disabled\)$/m);
    assert.match(users.stdout, /^bob@localhost$/m);
    const back = await server.cli(['enable', 'alice@localhost']);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(await login(server, 'alice@localhost', 'pw-alice'), 'ok');
    assert.match((await server.cli(['list-users'])).stdout, /^alice@localhost$/m);
  });

  it('on a stopped server: the suspension holds after start; a wrong password still says not-authorized', async () => {
    await server.stop();
    const r = await server.cli(['disable', 'bob@localhost']);
    assert.equal(r.code, 0, r.stderr);
    assert.match((await server.cli(['list-users'])).stdout, /^bob@localhost \(disabled\)$/m);
    server = await startServer({ root: server.root, users: [] });
    assert.equal(await login(server, 'bob@localhost', 'wrong'), 'not-authorized');
    assert.equal(await login(server, 'bob@localhost', 'pw-bob'), 'account-disabled');
    await server.stop();
    assert.equal((await server.cli(['enable', 'bob@localhost'])).code, 0);
    server = await startServer({ root: server.root, users: [] });
    assert.equal(await login(server, 'bob@localhost', 'pw-bob'), 'ok');
  });

  it('an unknown account or a malformed address is a readable error', async () => {
    const unknown = await server.cli(['disable', 'nobody@localhost']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^jabberx: nobody@localhost does not exist/);
    const malformed = await server.cli(['enable', 'localhost']);
    assert.equal(malformed.code, 64);
    assert.match(malformed.stderr, /expected USER@HOST/);
  });

  it('jabberx invite says so when the invites module is off', async () => {
    const r = await server.cli(['invite', 'localhost']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^jabberx: invites are off on localhost/);
  });
});
