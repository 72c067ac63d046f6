// `jabberx adduser --batch` (issue 13): input already waiting on standard input when the command
// starts — a redirected file, or a pipe whose writer has finished — creates every account, on a
// stopped server (through the store) and on a running one (through its control socket).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type TestServer } from '../harness/server.ts';
import { jabberx } from '../harness/cli.ts';

describe('adduser --batch', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
    await server.stop();
  });
  after(() => server.remove());

  it('reads a redirected file (jabberx adduser --batch < accounts.txt) on a stopped server', async () => {
    const file = join(server.root, 'accounts.txt');
    writeFileSync(file, '# migrated from the old server\nann@localhost pw-ann\n\nbob@localhost  pw with spaces \n');
    const fd = openSync(file, 'r');
    try {
      const r = await jabberx(['adduser', '--batch', '--config', server.configPath], { stdin: fd });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'created 2 account(s)\n');
    } finally {
      closeSync(fd);
    }
    const list = await jabberx(['list-users', '--config', server.configPath]);
    assert.deepEqual(list.stdout.split('\n').filter(Boolean).sort(), ['ann@localhost', 'bob@localhost']);
  });

  it('reads a finished pipe (printf … | jabberx adduser --batch) on a running server, and the accounts log in', async (t) => {
    server = await startServer({ root: server.root });
    const r = await jabberx(['adduser', '--batch', '--config', server.configPath], { stdin: 'cat@localhost pw-cat\ndan@localhost pw-dan\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'created 2 account(s)\n');
    await server.connectClient(t, 'cat', { password: 'pw-cat' });
    await server.connectClient(t, 'bob', { password: 'pw with spaces' });
  });

  it('reports each bad line by its number and exits 1, creating the good ones', async () => {
    const r = await jabberx(['adduser', '--batch', '--config', server.configPath], { stdin: 'eve@localhost pw-eve\nno-password@localhost\ncat@localhost again\n' });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'created 1 account(s), 2 failed\n');
    assert.match(r.stderr, /^jabberx: line 2: expected "user@host password"$/m);
    assert.match(r.stderr, /^jabberx: line 3: .*exists/m);
  });
});
