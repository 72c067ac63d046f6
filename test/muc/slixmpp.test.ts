// XEP-0045 with a second, independent client: slixmpp's xep_0045 plugin as shipped by Debian
// (join_muc_wait, get_room_config/set_room_config, leave_muc) against the server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { connectSlix, slixmppUnavailable, type SlixClient, type SlixStanza } from '../harness/slixmpp.ts';
import { roomJid } from './muc-helpers.ts';

const skip = slixmppUnavailable();

describe('MUC with slixmpp (xep_0045)', { skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: { disco: {}, ping: {}, roster: {}, muc: {} } });
  });
  after(() => server.remove());

  const slix = async (t: Parameters<typeof connectSlix>[0], user: string): Promise<SlixClient> => {
    const jid = `${user}@localhost`;
    const password = server.passwords.get(jid) ?? (await server.adduser(jid), server.passwords.get(jid)!);
    return connectSlix(t, { jid, password, port: server.ports.c2s_starttls, resource: 'slix' });
  };

  it('creates and configures a room, others join with history, change nick, leave', async (t) => {
    const owner = await slix(t, 'sowner');
    const guest = await slix(t, 'sguest');
    const created = await owner.mucJoin(roomJid('slixroom'), 'Owner');
    assert.equal(created.error, undefined, created.xml);
    if (created.error !== undefined) return;
    assert.deepEqual(created.statusCodes, [110, 201]);
    assert.equal(created.affiliation, 'owner');
    const fields = await owner.mucConfigure(roomJid('slixroom'), { 'muc#roomconfig_roomname': 'Slix room', 'muc#roomconfig_passwordprotectedroom': true, 'muc#roomconfig_roomsecret': 'pw' });
    assert.ok(fields.includes('muc#roomconfig_roomsecret'));
    assert.ok(!fields.includes('muc#roomconfig_enablelogging'));

    const refused = await guest.mucJoin(roomJid('slixroom'), 'Guest');
    assert.equal(refused.error, 'not-authorized');
    await owner.mucMessage(roomJid('slixroom'), 'before you came');
    await owner.waitForStanza({ name: 'message', from: `${roomJid('slixroom')}/Owner`, body: 'before you came' });
    const joined = await guest.mucJoin(roomJid('slixroom'), 'Guest', { password: 'pw', maxstanzas: 10 });
    assert.equal(joined.error, undefined, joined.xml);
    if (joined.error !== undefined) return;
    assert.deepEqual(joined.statusCodes, [110]);
    assert.equal(joined.role, 'participant');
    assert.deepEqual(joined.occupants.sort(), ['Guest', 'Owner']);
    assert.deepEqual(joined.history, ['before you came']);
    assert.equal(joined.subject, '');

    await guest.mucMessage(roomJid('slixroom'), 'hello all');
    await owner.waitForStanza({ name: 'message', from: `${roomJid('slixroom')}/Guest`, body: 'hello all' });
    await guest.mucNick(roomJid('slixroom'), 'Guest2');
    const renamed = (await owner.waitFor((e) => e.event === 'stanza' && e.name === 'presence' && e.from === `${roomJid('slixroom')}/Guest` && e.type === 'unavailable')) as SlixStanza;
    assert.match(renamed.xml, /code="303"/);
    assert.match(renamed.xml, /nick="Guest2"/);
    await owner.waitForStanza({ name: 'presence', from: `${roomJid('slixroom')}/Guest2` });
    await guest.mucLeave(roomJid('slixroom'), 'Guest2', 'bye');
    const left = (await owner.waitFor((e) => e.event === 'stanza' && e.name === 'presence' && e.from === `${roomJid('slixroom')}/Guest2` && e.type === 'unavailable')) as SlixStanza;
    assert.match(left.xml, /role="none"/);
    assert.match(left.xml, /<status>bye<\/status>/);
  });
});
