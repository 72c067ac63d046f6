// HTTP File Upload (XEP-0363) with a stock client: go-sendxmpp -h finds the upload service through
// disco, uploads over https (verifying the certificate) and sends the file's URL, which an
// @xmpp/client contact receives and downloads intact.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startServer, type TestServer } from '../harness/server.ts';
import { match, xml } from '../harness/client.ts';
import { freePort } from '../harness/net.ts';
import { goSendxmppUnavailable, uploadFile } from '../harness/go-sendxmpp.ts';
import { defaultModuleNames } from '../../src/modules/registry.ts';

const ALICE_PW = 'pw-alice-upload-1';
const uploadMissing = existsSync(join(REPO_ROOT, 'src', 'modules', 'upload', 'index.ts')) ? undefined : 'needs module upload';

describe('file upload with a stock client', { skip: uploadMissing ?? goSendxmppUnavailable() }, () => {
  let server: TestServer;

  before(async () => {
    const httpsPort = await freePort();
    server = await startServer({
      users: [['alice@localhost', ALICE_PW]],
      config: {
        listeners: [
          { type: 'c2s_starttls', port: 0, address: '127.0.0.1' },
          { type: 'c2s_direct_tls', port: 0, address: '127.0.0.1' },
          { type: 'https', port: httpsPort, address: '127.0.0.1' },
        ],
      },
      modules: [...new Set([...defaultModuleNames, 'upload'])],
    });
  });
  after(async () => {
    await server?.remove();
  });

  it('go-sendxmpp uploads a file (-h) and the contact downloads it intact', { timeout: 30_000 }, async (t: TestContext) => {
    const dir = mkdtempSync(join(tmpdir(), 'jabberx-upload-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const content = randomBytes(100_000);
    const file = join(dir, 'photo.jpg');
    writeFileSync(file, content);

    const bob = await server.connectClient(t, 'bob');
    await bob.send(xml('presence'));
    await uploadFile({ jid: 'alice@localhost', password: ALICE_PW, port: server.ports.c2s_starttls }, 'bob@localhost', file);

    const msg = await bob.waitFor(match.message('alice@localhost'), 10_000, 'the message with the URL');
    const url = msg.getChild('x', 'jabber:x:oob')?.getChildText('url') ?? msg.getChildText('body') ?? '';
    assert.match(url, /^https:\/\/.*photo\.jpg$/, `a https URL naming the file (got ${msg.toString()})`);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), content);
  });
});
