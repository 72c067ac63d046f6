// Encryption at rest (privacy policy §4): after full sessions from real clients, no personal data
// (user names, roster names, vCard e-mails, private XML, offline bodies) is readable in the raw
// database, WAL, logs or data directory; without the master key the server refuses to start and
// changes nothing; with the key back, everything is intact.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { listFiles, startServer, type TestServer } from '../harness/server.ts';
import { match, xml } from '../harness/client.ts';
import { connectSlix, slixmppUnavailable } from '../harness/slixmpp.ts';

const M = {
  user: 'zuser4e1d',
  contactName: 'RosterNameMarker-5c2a',
  email: 'email-marker-91f0@example.org',
  fn: 'VcardFnMarker-33b7',
  privateXml: 'PrivateMarker-0dd4',
  offline: 'OfflineBodyMarker-a9e2',
  friend: 'zfriend77c3',
};

function hashFiles(dir: string): string {
  const h = createHash('sha256');
  for (const f of listFiles(dir).sort()) h.update(f).update(readFileSync(f));
  return h.digest('hex');
}

describe('encryption at rest', () => {
  let server: TestServer;
  let root: string;
  before(async () => {
    server = await startServer({ users: [[`${M.user}@localhost`, 'pw-user'], [`${M.friend}@localhost`, 'pw-friend']] });
    root = server.root;
  });
  after(async () => {
    await server.remove();
  });

  it('stores personal data from real clients only sealed', async (t) => {
    const user = await server.connectClient(t, M.user);
    await user.iqSet(xml('query', 'jabber:iq:roster', xml('item', { jid: `${M.friend}@localhost`, name: M.contactName })));
    await user.iqSet(xml('vCard', 'vcard-temp', xml('FN', {}, M.fn), xml('EMAIL', {}, xml('INTERNET'), xml('USERID', {}, M.email))));
    await user.iqSet(xml('query', 'jabber:iq:private', xml('notes', { xmlns: 'urn:example:notes' }, M.privateXml)));
    if (slixmppUnavailable()) {
      await user.send(xml('message', { to: `${M.friend}@localhost`, type: 'chat' }, xml('body', {}, M.offline)));
    } else {
      const other = await connectSlix(t, { jid: `${M.user}@localhost`, password: 'pw-user', port: server.ports.c2s_starttls, resource: 'slix' });
      await other.sendMessage(`${M.friend}@localhost`, M.offline);
      await other.close();
    }
    await new Promise((r) => setTimeout(r, 300));
    await user.close();
    await server.stop();

    const dataFiles = listFiles(server.dataDir);
    assert.ok(dataFiles.some((f) => f.endsWith('.sqlite')));
    for (const f of dataFiles) {
      const text = readFileSync(f).toString('latin1');
      for (const [what, marker] of Object.entries(M)) assert.ok(!text.includes(marker), `${what} (${marker}) readable in ${f}`);
    }
    assert.ok(!existsSync(join(server.dataDir, 'jabberx.key')), 'the master key is not in the data directory');
    assert.ok(existsSync(join(root, 'jabberx.key')), 'the key file was made beside the config');
  });

  it('refuses to start without the master key, and changes nothing', async () => {
    const before = hashFiles(server.dataDir);
    renameSync(join(root, 'jabberx.key'), join(root, 'elsewhere.key'));
    await assert.rejects(startServer({ root, users: [] }), /master key|key file/i);
    assert.equal(hashFiles(server.dataDir), before, 'the data files are byte for byte the same');
  });

  it('with the key back, everything is intact', async (t) => {
    renameSync(join(root, 'elsewhere.key'), join(root, 'jabberx.key'));
    server = await startServer({ root });
    server.passwords.set(`${M.user}@localhost`, 'pw-user');
    server.passwords.set(`${M.friend}@localhost`, 'pw-friend');
    const user = await server.connectClient(t, M.user);
    const roster = await user.iqGet(xml('query', 'jabber:iq:roster'));
    assert.equal(roster.getChild('item')?.attrs['name'], M.contactName);
    const vcard = await user.iqGet(xml('vCard', 'vcard-temp'));
    assert.equal(vcard.getChildText('FN'), M.fn);
    const priv = await user.iqGet(xml('query', 'jabber:iq:private', xml('notes', { xmlns: 'urn:example:notes' })));
    assert.equal(priv.getChild('notes')?.text(), M.privateXml);
    const friend = await server.connectClient(t, M.friend);
    await friend.send(xml('presence'));
    await friend.waitFor(match.message(`${M.user}@localhost`, M.offline));
  });
});
