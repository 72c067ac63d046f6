// A module turned off must not leave its data silently (the MAM archive first): messages are
// archived by real client sessions on two hosts with mam on; after a restart with mam off the log
// names the module, host and store (no user data), check-config warns, /privacy still states the
// archive, and `jabberx purge-module mam --host` erases it for good, on the running server for one
// host (whose /privacy changes at once) and on the stopped one for the other, after which /privacy
// says no chat history is kept again. A module that is on is never purged.
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

const HOSTS = ['localhost', 'other.localhost'];

/** The sealed values of the mam archive of a host, read from the database file itself (the server stopped). */
function sealedArchive(server: TestServer, host: string): Buffer[] {
  const db = new DatabaseSync(join(server.dataDir, 'jabberx.sqlite'), { readOnly: true });
  try {
    return db.prepare(`SELECT value FROM archive WHERE host = ? AND store = 'mam'`).all(host)
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
  const sealed = new Map<string, Buffer[]>();

  before(async () => {
    server = await startServer({ hosts: HOSTS, config: { listeners: LISTENERS, modules: { mam: { max_age: '30d' } } } });
    await createAccounts(server, HOSTS.flatMap((h) => [`sender@${h}`, `recipient@${h}`]));
  });
  after(() => server.remove());

  it('mam on: real sessions archive a message on each host; purge-module refuses while it is on', async (t) => {
    for (const h of HOSTS) {
      const sender = await server.connectClient(t, `sender@${h}`);
      const recipient = await server.connectClient(t, `recipient@${h}`);
      await addContact(sender, `recipient@${h}`);
      await addContact(recipient, `sender@${h}`);
      await recipient.send(xml('presence'));
      await sender.send(chat(`recipient@${h}`, marker));
      await recipient.waitFor((e) => e.is('message') && e.getChildText('body') === marker);
    }
    await server.stop();
    for (const h of HOSTS) {
      const values = sealedArchive(server, h);
      assert.equal(values.length, 2, `${h}: archived for the sender and the recipient`);
      // The first 32 bytes of a sealed value (header, IV, ciphertext) are unique to it.
      for (const v of values) assert.ok(atRest(server, v.subarray(0, 32)), 'sanity: the sealed entries are in the files');
      sealed.set(h, values);
    }
    // The stopped server's configuration still has mam on: its archive is in use, never erased.
    const refused = await server.cli(['purge-module', 'mam']);
    assert.equal(refused.code, 65, refused.stderr);
    assert.match(refused.stderr, /^jabberx: module mam is enabled on localhost, other\.localhost: .*Nothing was erased\.\n$/);
    assert.equal(sealedArchive(server, 'localhost').length, 2);
  });

  it('mam off: the log names what is left, /privacy still states the archive; purge-module erases it', async () => {
    assert.equal(sealed.size, 2, 'needs the test above');
    // The default modules: mam is off.
    server = await startServer({ root: server.root, hosts: HOSTS, config: { listeners: LISTENERS } });
    const warnings = server.logs().split('\n').filter((l) => l.includes('still holds data'));
    for (const h of HOSTS) {
      assert.ok(warnings.some((w) => w.includes(`module mam is turned off on ${h} but its store mam still holds data`) && w.includes(`jabberx purge-module mam --host ${h}`)), `no warning for ${h} in\n${server.logs()}`);
    }
    for (const w of warnings) for (const personal of [marker, 'sender', 'recipient']) assert.ok(!w.includes(personal), `${personal} in the warning`);

    let text = await privacyText(server);
    assert.match(text, /No new messages are archived, but a message archive kept earlier is still stored: the one-to-one messages sent and received while it was on stay on the server, encrypted, until the operator erases them or your account is deleted\./);
    assert.match(text, /Message archive: .*This feature has been turned off: what it stored before is still kept, with no time limit/);
    assert.doesNotMatch(text, /No chat history is kept/);

    const checked = await server.cli(['check-config']);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, /^warning: module mam is off on localhost but its store mam still holds data \(.*jabberx purge-module mam --host localhost\)$/m);
    assert.match(checked.stdout, /^warning: module mam is off on other\.localhost but its store mam still holds data/m);

    const refused = await server.cli(['purge-module', 'offline', '--host', 'localhost']);
    assert.equal(refused.code, 65, refused.stderr);
    assert.match(refused.stderr, /^jabberx: module offline is enabled on localhost: .*Nothing was erased\.\n$/);

    // On the running server, one host: its /privacy changes at once.
    const purged = await server.cli(['purge-module', 'mam', '--host', 'localhost']);
    assert.equal(purged.code, 0, purged.stderr);
    assert.equal(purged.stdout, 'localhost: erased 2 record(s) of module mam, store mam\n');
    text = await privacyText(server);
    assert.match(text, /a message archive kept earlier is still stored on other\.localhost/);
    assert.match(text, /On localhost, no chat history is kept/);
    assert.doesNotMatch((await server.cli(['check-config'])).stdout, /on localhost but its store mam still holds data/);

    // On the stopped server, every host where it is off.
    await server.stop();
    assert.deepEqual(sealedArchive(server, 'localhost'), [], 'no archive record left on localhost');
    assert.equal(sealedArchive(server, 'other.localhost').length, 2, 'the other host keeps its archive');
    const offline = await server.cli(['purge-module', 'mam']);
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(offline.stdout, 'localhost: nothing of module mam was stored\nother.localhost: erased 2 record(s) of module mam, store mam\n');
    assert.deepEqual(sealedArchive(server, 'other.localhost'), []);
    for (const v of [...sealed.values()].flat()) assert.ok(!atRest(server, v.subarray(0, 32)), 'an erased entry is left in the data directory');

    // The log file goes on across restarts: count the warnings written so far.
    const warned = server.logs().split('still holds data').length;
    server = await startServer({ root: server.root, hosts: HOSTS, config: { listeners: LISTENERS } });
    text = await privacyText(server);
    assert.match(text, /No chat history is kept: the server passes messages on to the recipient and does not keep an archive of them\./);
    assert.doesNotMatch(text, /archive kept earlier|has been turned off/);
    assert.equal(server.logs().split('still holds data').length, warned, 'no warning after the purge');
    assert.ok(!server.logs().includes(marker), 'never in the log');
  });
});
