// A log sink that fails must not take the server down (issue 7 D): a log file on a full disk
// (/dev/full: every write fails with ENOSPC) and a closed standard output (EPIPE). Real server
// processes; each must start, log users in and carry their messages, and stop cleanly.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startServer, type TestServer } from '../harness/server.ts';
import { match, xml } from '../harness/client.ts';

const chat = (to: string, body: string) => xml('message', { to, type: 'chat' }, xml('body', {}, body));

/** Two users log in and exchange a message both ways; the server answers a status request. */
async function serves(server: TestServer, t: Parameters<TestServer['connectClient']>[0]): Promise<void> {
  const a = await server.connectClient(t, 'alice');
  const b = await server.connectClient(t, 'bob');
  await a.send(xml('presence'));
  await b.send(xml('presence'));
  await a.send(chat(b.jid.toString(), 'hello through a broken log'));
  await b.waitFor(match.message('alice@localhost', 'hello through a broken log'));
  await b.send(chat(a.jid.toString(), 'and back'));
  await a.waitFor(match.message('bob@localhost', 'and back'));
  const status = await server.cli(['status']);
  assert.equal(status.code, 0, status.stderr);
  await a.close();
  await b.close();
}

function exitCode(server: TestServer): number | null {
  return server.process.exitCode;
}

describe('log write failures', () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
  });

  it('a log file on a full disk (/dev/full): the server starts, serves and stops cleanly', { skip: !existsSync('/dev/full') && 'no /dev/full here' }, async (t) => {
    // debug level (the harness default): every stanza produces log lines that all fail to write.
    const server = await startServer({ config: { log: { file: '/dev/full' } } });
    servers.push(server);
    await serves(server, t);
    assert.equal(exitCode(server), null, 'still running');
    await server.stop();
    assert.equal(exitCode(server), 0, 'a clean exit, not the crash handler (70)');
    // Standard error heard that the log sink failed; nothing else was lost from the service.
    assert.match(server.logs(), /writing to the log file failed \(ENOSPC\)/);
  });

  it('standard output closed under a server logging to it: it keeps serving and stops cleanly', async (t) => {
    const server = await startServer({ config: { log: { file: '-' } } });
    servers.push(server);
    // The reading end of the server's stdout pipe goes away: its next writes fail with EPIPE.
    server.process.stdout?.destroy();
    await serves(server, t);
    // Once more after the sink has failed and been retried.
    await new Promise((r) => setTimeout(r, 1200));
    await serves(server, t);
    assert.equal(exitCode(server), null, 'still running');
    await server.stop();
    assert.equal(exitCode(server), 0, 'a clean exit, not the crash handler (70)');
  });
});
