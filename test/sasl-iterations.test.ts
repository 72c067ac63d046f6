// Issue 7: the SCRAM iteration count must not tell which accounts exist. Unknown users are shown the
// configured count; accounts made under another count get it at their next PLAIN login (the only
// login that reveals the password) or password change.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './harness/server.ts';
import { connectSecured, NS } from './harness/raw.ts';

/** The iteration count in the server-first-message SCRAM-SHA-256 answers for `user`. */
async function iterationsShown(server: TestServer, user: string): Promise<number> {
  const { conn } = await connectSecured({ port: server.ports.c2s_starttls });
  try {
    const first = Buffer.from(`n,,n=${user},r=abcdefghijklmnop`).toString('base64');
    await conn.send(`<auth xmlns='${NS.SASL}' mechanism='SCRAM-SHA-256'>${first}</auth>`);
    const challenge = /<challenge[^>]*>([^<]*)<\/challenge>/.exec(await conn.readUntil(/<\/challenge>/))?.[1] ?? '';
    return Number(/(?:^|,)i=(\d+)/.exec(Buffer.from(challenge, 'base64').toString())?.[1]);
  } finally {
    conn.destroy();
  }
}

describe('SCRAM iteration counts reveal no accounts (issue 7)', () => {
  it('unknown users see the configured count; old credentials are re-derived at the next PLAIN login', async (t) => {
    const first = await startServer({ users: [['old@localhost', 'old-password-1']] });
    await first.stop();
    const server = await startServer({ root: first.root, config: { auth: { scram_iterations: 5000 } } });
    t.after(() => server.stop({ remove: true }));
    assert.equal(await iterationsShown(server, 'nobody'), 5000, 'unknown user: the configured count');
    assert.equal(await iterationsShown(server, 'old'), 4096, 'made under the old count');
    const plain = await server.connectClient(t, 'old', { password: 'old-password-1', mechanism: 'PLAIN' });
    await plain.close();
    assert.equal(await iterationsShown(server, 'old'), 5000, 're-derived at the PLAIN login');
    const again = await server.connectClient(t, 'old', { password: 'old-password-1' });
    await again.close();
  });
});
