// Persistent rooms survive a restart with their configuration and affiliations; their history
// does not (kept in memory only). No room message body ever reaches the disk or the logs.
// A deleted account's affiliations go with it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { listFiles, startServer, type TestServer } from '../harness/server.ts';
import { xml } from '../harness/client.ts';
import { admin, configure, createInstant, groupchat, item, join, NS_ADMIN, NS_USER, roomJid, say } from './muc-helpers.ts';

const MARKER = 'RoomBodyMarker-7f3e91';
const PM_MARKER = 'RoomPmMarker-c0b2d4';
const SUBJECT_MARKER = 'RoomSubjectMarker-55aa';
const modules = { disco: {}, ping: {}, roster: {}, muc: {} };

describe('MUC persistence and privacy', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules });
  });
  after(() => server.remove());

  it('keeps settings and affiliations of a persistent room across a restart, never its messages', async (t) => {
    const owner = await server.connectClient(t, 'keeper');
    const member = await server.connectClient(t, 'regular');
    const gone = await server.connectClient(t, 'leaver');
    // The room is named like the account deleted below: deleting the account leaves the room's record alone.
    await createInstant(owner, 'leaver', 'Keeper');
    await configure(owner, 'leaver', { 'muc#roomconfig_persistentroom': '1', 'muc#roomconfig_roomname': 'Kept room', 'muc#roomconfig_roomdesc': 'About nothing' });
    await admin(owner, 'leaver', { jid: 'regular@localhost', affiliation: 'member' });
    await admin(owner, 'leaver', { jid: 'leaver@localhost', affiliation: 'admin' });
    await join(member, 'leaver', 'Regular');
    await owner.send(xml('message', { to: roomJid('leaver'), type: 'groupchat' }, xml('subject', {}, SUBJECT_MARKER)));
    await say(owner, 'leaver', MARKER);
    await member.waitFor(groupchat('leaver', 'Keeper', MARKER));
    await member.send(xml('message', { to: `${roomJid('leaver')}/Keeper`, type: 'chat' }, xml('body', {}, PM_MARKER)));
    await owner.waitFor((e) => e.is('message') && e.getChildText('body') === PM_MARKER);
    // A newcomer gets the history from memory.
    await join(gone, 'leaver', 'Leaver');
    await gone.waitFor(groupchat('leaver', 'Keeper', MARKER));
    await gone.close();
    // Deleting an account removes its affiliations (user/deleted).
    const del = await server.cli(['deluser', 'leaver@localhost']);
    assert.equal(del.code, 0, del.stderr);
    const admins = await owner.iqGet(xml('query', { xmlns: NS_ADMIN }, xml('item', { affiliation: 'admin' })), roomJid('leaver'));
    assert.equal(admins.getChildren('item').length, 0, admins.toString());
    // The member's copy of their data names the room that lists them.
    const exported = await server.cli(['export', 'regular@localhost']);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /<room[^>]*jid=.leaver@conference\.localhost.[^>]*affiliation=.member./);
    await owner.close();
    await server.stop();
    // The member was still in the room: status 332, the system is shutting down.
    const shutdown = member.received.find((e) => e.is('presence') && e.attrs['type'] === 'unavailable' && e.attrs['from'] === `${roomJid('leaver')}/Regular`);
    assert.ok(shutdown?.getChild('x', NS_USER)?.getChildren('status').some((s) => s.attrs['code'] === '332'), String(shutdown));
    await member.close();

    for (const f of [...listFiles(server.dataDir), server.logFile]) {
      const bytes = readFileSync(f).toString('latin1');
      for (const marker of [MARKER, PM_MARKER, SUBJECT_MARKER]) assert.ok(!bytes.includes(marker), `${marker} readable in ${f}`);
    }
    assert.ok(!server.logs().includes(MARKER), 'the message body is in the logs');

    const passwords = new Map(server.passwords);
    server = await startServer({ root: server.root, modules });
    for (const [jid, pw] of passwords) server.passwords.set(jid, pw);
    const again = await server.connectClient(t, 'regular');
    const info = await again.iqGet(xml('query', 'http://jabber.org/protocol/disco#info'), roomJid('leaver'));
    assert.equal(info.getChild('identity')?.attrs['name'], 'Kept room');
    assert.ok(info.getChildren('feature').some((f) => f.attrs['var'] === 'muc_persistent'));
    const self = await join(again, 'leaver', 'Regular');
    assert.equal(item(self)['affiliation'], 'member');
    const subject = await again.waitFor((e) => e.is('message') && e.getChild('subject') !== undefined);
    assert.equal(subject.getChildText('subject'), '', 'the subject is not kept either');
    assert.ok(!again.received.some((e) => e.getChildText('body') === MARKER), 'history came back after a restart');
    assert.ok(again.received.every((e) => !e.getChild('x', NS_USER)?.getChildren('status').some((s) => s.attrs['code'] === '201')), 'a stored room is not new');
  });
});
