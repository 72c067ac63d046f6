// A module turned off must not leave its data silently (the MAM archive first): messages are
// archived by a real client session with mam on; after a restart with mam off the log names the
// module, host and store (no user data), /privacy still states the archive is kept, and
// `jabberx purge-module mam` (on the running server) erases it for good, after which /privacy says
// no chat history is kept again. A module that is on is never purged.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { listFiles, startServer, type TestServer } from '../harness/server.ts';
import { xml } from '../harness/client.ts';
import { addContact, chat, createAccounts } from '../mam/mam-client.ts';

const LISTENERS = [
  { type: 'c2s_starttls', port: 0, address: '127.0.0.1' },
  { type: 'c2s_direct_tls', port: 0, address: '127.0.0.1' },
  { type: 'http', port: 0, address: '127.0.0.1' },
];

async function privacyText(server: TestServer): Promise<string> {
  const port = (server.ports as unknown as Record<string, number>)['http'];
  const res = await fetch(`http://127.0.0.1:${String(port)}/privacy.txt`);
  assert.equal(res.status, 200);
  return (await res.text()).replace(/\n(?: {2})?(?=\S)/g, ' ');
}

/** The sealed values of the mam archive, read from the database file itself (the server stopped). */
function sealedArchive(server: TestServer): Buffer[] {
  const db = new DatabaseSync(join(server.dataDir, 'jabberx.sqlite'), { readOnly: true });
  try {
    return db.prepare(`SELECT value FROM archive WHERE host = 'localhost' AND store = 'mam'`).all()
      .map((row) => Buffer.from(row['value'] as Uint8Array));
  } finally {
    db.close();
  }
}

/** Whether any file of the data directory holds these bytes. */
function atRest(server: TestServer, bytes: Buffer): boolean {
  return listFiles(server.dataDir).some((f) => readFileSync(f).includes(bytes));
}

describe('data of a module turned off', () => {
  let server: TestServer;
  const marker = 'LeftoverArchiveMarker-5d2a90';
  let sealed: Buffer[] = [];

  before(async () => {
    server = await startServer({ config: { listeners: LISTENERS, modules: { mam: { max_age: '30d' } } } });
    await createAccounts(server, ['sender', 'recipient']);
  });
  after(() => server.remove());

  it('mam on: a real session archives a message', async (t) => {
    const sender = await server.connectClient(t, 'sender');
    const recipient = await server.connectClient(t, 'recipient');
    await addContact(sender, 'recipient@localhost');
    await addContact(recipient, 'sender@localhost');
    await recipient.send(xml('presence'));
    await sender.send(chat('recipient@localhost', marker));
    await recipient.waitFor((e) => e.is('message') && e.getChildText('body') === marker);
    await server.stop();
    sealed = sealedArchive(server);
    assert.equal(sealed.length, 2, 'archived for the sender and the recipient');
    // The first 32 bytes of a sealed value (header, IV, ciphertext) are unique to it.
    for (const v of sealed) assert.ok(atRest(server, v.subarray(0, 32)), 'sanity: the sealed entries are in the files');
  });

  it('mam off: the log names what is left, /privacy still states the archive; purge-module erases it', async () => {
    assert.equal(sealed.length, 2, 'needs the test above');
    // The default modules: mam is off.
    server = await startServer({ root: server.root, config: { listeners: LISTENERS } });
    const warning = server.logs().split('\n').find((l) => l.includes('still holds data'));
    assert.ok(warning, `no warning in\n${server.logs()}`);
    assert.match(warning, /module mam is turned off on localhost but its store mam still holds data/);
    assert.match(warning, /jabberx purge-module mam --host localhost/);
    for (const personal of [marker, 'sender', 'recipient']) assert.ok(!warning.includes(personal), `${personal} in the warning`);

    let text = await privacyText(server);
    assert.match(text, /No new messages are archived, but a message archive kept earlier is still stored: the one-to-one messages sent and received while it was on stay on the server, encrypted, until the operator erases them or your account is deleted\./);
    assert.match(text, /Message archive: .*This feature has been turned off: what it stored before is still kept, with no time limit/);
    assert.doesNotMatch(text, /No chat history is kept/);

    const checked = await server.cli(['check-config']);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, /^warning: module mam is off on localhost but its store mam still holds data \(.*jabberx purge-module mam --host localhost\)$/m);

    const refused = await server.cli(['purge-module', 'offline']);
    assert.equal(refused.code, 65, refused.stderr);
    assert.match(refused.stderr, /^jabberx: module offline is enabled on localhost: .*Nothing was erased\.\n$/);

    const purged = await server.cli(['purge-module', 'mam']);
    assert.equal(purged.code, 0, purged.stderr);
    assert.match(purged.stdout, /^localhost: erased 2 record\(s\) of module mam, store mam$/m);

    text = await privacyText(server);
    assert.match(text, /No chat history is kept: the server passes messages on to the recipient and does not keep an archive of them\./);
    assert.doesNotMatch(text, /archive kept earlier|has been turned off/);

    assert.doesNotMatch((await server.cli(['check-config'])).stdout, /still holds data/);
    const again = await server.cli(['purge-module', 'mam']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'localhost: nothing of module mam was stored\n');

    await server.stop();
    assert.deepEqual(sealedArchive(server), [], 'no archive record left in the database');
    for (const v of sealed) assert.ok(!atRest(server, v.subarray(0, 32)), 'an erased entry is left in the data directory');
    assert.ok(!server.logs().includes(marker), 'never in the log');
  });
});
