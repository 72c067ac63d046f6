// Moving to JabberX from Prosody and from ejabberd (XEP-0227): real instances of both (Debian's
// packages) get accounts and data the way their operators and users make them, export them with
// their own tools, and `jabberx import` reads the files on a running JabberX. The users then log in
// with their old passwords (stock @xmpp/client) and find their rosters, vCards, private XML and
// offline messages. And the other way: Prosody's migrator reads a `jabberx export`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../harness/server.ts';
import { connectClient, xml, type Element } from '../harness/client.ts';
import { EjabberdPeer, ProsodyPeer } from './peers.ts';

const NS_ROSTER = 'jabber:iq:roster';

async function rosterOf(server: TestServer, t: Parameters<TestServer['connectClient']>[0], user: string, password: string) {
  const c = await server.connectClient(t, user, { password });
  const query = await c.iqGet(xml('query', { xmlns: NS_ROSTER }));
  return { c, items: query.getChildren('item') };
}

describe('import from Prosody (prosody-migrator, xep0227 store)', { skip: ProsodyPeer.unavailable() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'jabberx-from-prosody-'));
  const prosody = new ProsodyPeer(dir);
  let jabberx: TestServer;

  before(async () => {
    await prosody.prepare();
    prosody.register('alice', 'alice-pw');
    prosody.register('bob', 'bob-pw');
    await prosody.start();
    jabberx = await startServer();
  });
  after(async () => {
    await prosody.stop();
    await jabberx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accounts, rosters (groups, subscription, ask), vCards and private XML arrive; users log in with their old passwords', async (t) => {
    // Alice uses Prosody with a stock client: a contact with groups, a pending subscription, a vCard, bookmarks.
    const alice = await connectClient({ port: prosody.port, domain: prosody.domain, username: 'alice', password: 'alice-pw' });
    await alice.iqSet(xml('query', { xmlns: NS_ROSTER }, xml('item', { jid: 'bob@localhost', name: 'Bobby' }, xml('group', {}, 'Friends'), xml('group', {}, 'Work'))));
    await alice.send(xml('presence', { to: 'bob@localhost', type: 'subscribe' }));
    await alice.iqSet(xml('vCard', { xmlns: 'vcard-temp' }, xml('FN', {}, 'Alice Liddell'), xml('NICKNAME', {}, 'al & co')));
    await alice.iqSet(xml('query', { xmlns: 'jabber:iq:private' }, xml('storage', { xmlns: 'storage:bookmarks' }, xml('conference', { jid: 'room@conference.example.org', autojoin: 'true' }))));
    const check = await alice.iqGet(xml('query', { xmlns: NS_ROSTER }));
    assert.equal(check.getChild('item')?.attrs['ask'], 'subscribe', 'Prosody keeps the pending subscription');
    await alice.close();
    await prosody.stop();

    const out = prosody.migrate(['accounts', 'roster', 'vcard', 'private']);
    const aliceFile = readFileSync(join(out, 'alice@localhost.xml'), 'utf8');
    assert.match(aliceFile, /mechanism='SCRAM-SHA-1'/, 'Prosody exports its SCRAM-SHA-1 credentials');

    const r = await jabberx.cli(['import', out]);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /imported alice@localhost\n/);
    assert.match(r.stdout, /imported bob@localhost\n/);

    const { c, items } = await rosterOf(jabberx, t, 'alice', 'alice-pw');
    assert.equal(items.length, 1);
    const bob = items[0] as Element;
    assert.equal(bob.attrs['jid'], 'bob@localhost');
    assert.equal(bob.attrs['name'], 'Bobby');
    assert.equal(bob.attrs['subscription'], 'none');
    assert.equal(bob.attrs['ask'], 'subscribe');
    assert.deepEqual(bob.getChildren('group').map((g: Element) => g.text()).sort(), ['Friends', 'Work']);
    const card = await c.iqGet(xml('vCard', { xmlns: 'vcard-temp' }));
    assert.equal(card.getChildText('FN'), 'Alice Liddell');
    assert.equal(card.getChildText('NICKNAME'), 'al & co');
    const priv = await c.iqGet(xml('query', { xmlns: 'jabber:iq:private' }, xml('storage', { xmlns: 'storage:bookmarks' })));
    assert.equal(priv.getChild('storage')?.getChild('conference')?.attrs['jid'], 'room@conference.example.org');
    // Bob's account came too; SHA-1-only credentials work with PLAIN as well.
    await jabberx.connectClient(t, 'bob', { password: 'bob-pw', mechanism: 'PLAIN' });
  });
});

describe('moving from JabberX to Prosody (its migrator reads our export)', { skip: ProsodyPeer.unavailable() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'jabberx-to-prosody-'));
  const prosody = new ProsodyPeer(dir);
  let jabberx: TestServer;

  before(async () => {
    jabberx = await startServer({ users: [['dora@localhost', 'dora-pw']] });
  });
  after(async () => {
    await prosody.stop();
    await jabberx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accounts (SCRAM-SHA-1 credentials), rosters, vCards and private XML arrive in Prosody; the user logs in with the same password', async (t) => {
    const dora = await jabberx.connectClient(t, 'dora');
    await dora.iqSet(xml('query', { xmlns: NS_ROSTER }, xml('item', { jid: 'eve@localhost', name: 'Eve' }, xml('group', {}, 'Family'))));
    await dora.iqSet(xml('vCard', { xmlns: 'vcard-temp' }, xml('FN', {}, 'Dora Explorer')));
    await dora.iqSet(xml('query', { xmlns: 'jabber:iq:private' }, xml('prefs', { xmlns: 'example:prefs' }, 'dark')));
    const folder = join(dir, 'export');
    mkdirSync(folder);
    // Prosody's xep0227 driver reads one user@host.xml per user.
    const r = await jabberx.cli(['export', 'dora@localhost', '--output', join(folder, 'dora@localhost.xml')]);
    assert.equal(r.code, 0, r.stderr);

    await prosody.prepare();
    prosody.load(folder, ['accounts', 'roster', 'vcard', 'private']);
    await prosody.start();
    const c = await connectClient({ port: prosody.port, domain: prosody.domain, username: 'dora', password: 'dora-pw' });
    try {
      const roster = await c.iqGet(xml('query', { xmlns: NS_ROSTER }));
      const eve = roster.getChild('item');
      assert.equal(eve?.attrs['jid'], 'eve@localhost');
      assert.equal(eve?.attrs['name'], 'Eve');
      assert.equal(eve?.getChildText('group'), 'Family');
      const card = await c.iqGet(xml('vCard', { xmlns: 'vcard-temp' }));
      assert.equal(card.getChildText('FN'), 'Dora Explorer');
      const priv = await c.iqGet(xml('query', { xmlns: 'jabber:iq:private' }, xml('prefs', { xmlns: 'example:prefs' })));
      assert.equal(priv.getChild('prefs')?.text(), 'dark');
    } finally {
      await c.close();
    }
  });
});

describe('import from ejabberd (export_piefxis)', { skip: EjabberdPeer.unavailable() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'jabberx-from-ejabberd-'));
  const ejabberd = new EjabberdPeer(dir);
  let jabberx: TestServer;

  before(async () => {
    await Promise.all([ejabberd.start(), startServer().then((s) => (jabberx = s))]);
  });
  after(async () => {
    await ejabberd.stop();
    await jabberx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SCRAM and plaintext accounts, rosters, vCards, private XML and offline messages arrive; users log in with their old passwords', async (t) => {
    const [scramHost, plainHost] = ejabberd.hosts as [string, string];
    // Its admin commands, as an operator fills it.
    await ejabberd.api('register', { user: 'alice', host: scramHost, password: 'alice-pw' });
    await ejabberd.api('register', { user: 'bob', host: scramHost, password: 'bob-pw' });
    await ejabberd.api('register', { user: 'carol', host: plainHost, password: 'carol-pw' });
    await ejabberd.api('add_rosteritem', { localuser: 'alice', localhost: scramHost, user: 'bob', host: scramHost, nick: 'Bobby', group: 'Friends', subs: 'both' });
    await ejabberd.api('set_vcard', { user: 'alice', host: scramHost, name: 'FN', content: 'Alice Liddell' });
    await ejabberd.api('set_vcard2', { user: 'alice', host: scramHost, name: 'N', subname: 'FAMILY', content: 'Liddell' });
    await ejabberd.api('private_set', { user: 'alice', host: scramHost, element: '<storage xmlns="storage:bookmarks"><conference jid="room@conference.example.org" autojoin="true"/></storage>' });
    await ejabberd.api('send_message', { type: 'chat', from: `bob@${scramHost}/phone`, to: `alice@${scramHost}`, subject: '', body: 'while you were out' });
    const main = await ejabberd.exportPiefxis();
    await ejabberd.stop();
    const hostFiles = readFileSync(main, 'utf8');
    assert.match(hostFiles, /<xi:include href=/, 'the main file includes one file per host');

    // Its second host is not served here: mapped onto ours.
    const r = await jabberx.cli(['import', main, '--host', `${plainHost}=localhost`]);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    for (const u of ['alice', 'bob', 'carol']) assert.match(r.stdout, new RegExp(`imported ${u}@localhost\\n`));

    const { c, items } = await rosterOf(jabberx, t, 'alice', 'alice-pw');
    assert.equal(items.length, 1);
    const bob = items[0] as Element;
    assert.equal(bob.attrs['jid'], 'bob@localhost');
    assert.equal(bob.attrs['name'], 'Bobby');
    assert.equal(bob.attrs['subscription'], 'both');
    assert.deepEqual(bob.getChildren('group').map((g: Element) => g.text()), ['Friends']);
    const card = await c.iqGet(xml('vCard', { xmlns: 'vcard-temp' }));
    assert.equal(card.getChildText('FN'), 'Alice Liddell');
    assert.equal(card.getChild('N')?.getChildText('FAMILY'), 'Liddell');
    const priv = await c.iqGet(xml('query', { xmlns: 'jabber:iq:private' }, xml('storage', { xmlns: 'storage:bookmarks' })));
    assert.equal(priv.getChild('storage')?.getChild('conference')?.attrs['jid'], 'room@conference.example.org');
    await c.send(xml('presence'));
    const msg = await c.waitFor((e: Element) => e.is('message') && e.getChildText('body') === 'while you were out', 5000, 'the offline message');
    assert.equal(msg.attrs['from'], 'bob@localhost/phone');
    const stamp = /stamp='([^']+)'/.exec(readFileSync(main.replace(/\.xml$/, '_localhost.xml'), 'utf8'))?.[1] ?? '';
    assert.equal(Date.parse(msg.getChild('delay', 'urn:xmpp:delay')?.attrs['stamp'] ?? ''), Math.floor(Date.parse(stamp)), 'delivered with the stamp ejabberd stored');

    await jabberx.connectClient(t, 'bob', { password: 'bob-pw' });
    // The plaintext password became SCRAM credentials; it is not kept.
    await jabberx.connectClient(t, 'carol', { password: 'carol-pw' });
    const carol = await jabberx.cli(['export', 'carol@localhost']);
    assert.doesNotMatch(carol.stdout, /password=|carol-pw/);
    assert.match(carol.stdout, /SCRAM-SHA-256/);
  });
});
