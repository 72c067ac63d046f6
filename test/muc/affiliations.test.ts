// XEP-0045 §8-§10 through raw stanzas: every role and affiliation change with its permission
// checks, errors and status codes; members-only, password, moderated rooms, voice requests,
// invitations, nickname registration and destruction.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { xml } from '../harness/client.ts';
import {
  admin, codes, configure, createInstant, errorCondition, groupchat, item, join, joinError, NS_ADMIN, NS_OWNER, NS_USER, presenceFrom, rejectsWith, roomJid, say,
} from './muc-helpers.ts';

describe('MUC roles and affiliations (XEP-0045 §8-§10)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: { disco: {}, ping: {}, roster: {}, muc: {} } });
  });
  after(() => server.remove());

  it('voice, moderator, kick (307): who may do what, with actors and reasons', async (t) => {
    const owner = await server.connectClient(t, 'o1');
    const mod = await server.connectClient(t, 'm1');
    const p = await server.connectClient(t, 'p1');
    await createInstant(owner, 'roles', 'Owner');
    await join(mod, 'roles', 'Mod');
    await join(p, 'roles', 'Pat');
    // A participant changes nobody's role (forbidden).
    await rejectsWith(admin(p, 'roles', { nick: 'Mod', role: 'visitor' }), 'forbidden');
    // §9.6: the owner grants moderator.
    await admin(owner, 'roles', { nick: 'Mod', role: 'moderator' });
    const promoted = await p.waitFor((e) => e.is('presence') && e.attrs['from'] === `${roomJid('roles')}/Mod` && item(e)['role'] === 'moderator');
    assert.equal(item(promoted)['affiliation'], 'none');
    // §8.4 revoke voice, §8.3 grant it back.
    await admin(mod, 'roles', { nick: 'Pat', role: 'visitor' }, 'quiet please');
    const silenced = await p.waitFor((e) => e.is('presence') && e.attrs['from'] === `${roomJid('roles')}/Pat` && item(e)['role'] === 'visitor');
    assert.equal(silenced.getChild('x', NS_USER)?.getChild('item')?.getChildText('reason'), 'quiet please');
    assert.equal(silenced.getChild('x', NS_USER)?.getChild('item')?.getChild('actor')?.attrs['nick'], 'Mod');
    await p.send(xml('message', { to: roomJid('roles'), type: 'groupchat', id: 'mute' }, xml('body', {}, 'hello?')));
    assert.equal(errorCondition(await p.waitFor((e) => e.attrs['id'] === 'mute' && e.attrs['type'] === 'error')), 'forbidden');
    await admin(mod, 'roles', { nick: 'Pat', role: 'participant' });
    await p.waitFor((e) => e.is('presence') && e.attrs['from'] === `${roomJid('roles')}/Pat` && item(e)['role'] === 'participant');
    // §9.7: a mere moderator cannot demote another moderator; nobody kicks the owner (not-allowed).
    await rejectsWith(admin(mod, 'roles', { nick: 'Owner', role: 'none' }), 'not-allowed');
    await rejectsWith(admin(mod, 'roles', { nick: 'Owner', role: 'participant' }), 'not-allowed');
    // Role lists for moderators (§8.5 voice list, §8.8 moderator list).
    const mods = await owner.iqGet(xml('query', { xmlns: NS_ADMIN }, xml('item', { role: 'moderator' })), roomJid('roles'));
    assert.deepEqual(mods.getChildren('item').map((i) => i.attrs['nick']).sort(), ['Mod', 'Owner']);
    await rejectsWith(p.iqGet(xml('query', { xmlns: NS_ADMIN }, xml('item', { role: 'participant' })), roomJid('roles')), 'forbidden');
    // §8.2 kick with 307, the actor and the reason, to the kicked one (110) and to the others.
    await admin(mod, 'roles', { nick: 'Pat', role: 'none' }, 'flooding');
    const kickedSelf = await p.waitFor(presenceFrom(`${roomJid('roles')}/Pat`, 'unavailable'));
    assert.deepEqual(codes(kickedSelf), [110, 307]);
    const kickedSeen = await owner.waitFor(presenceFrom(`${roomJid('roles')}/Pat`, 'unavailable'));
    assert.deepEqual(codes(kickedSeen), [307]);
    assert.equal(kickedSeen.getChild('x', NS_USER)?.getChild('item')?.getChildText('reason'), 'flooding');
    // Revoking moderator (§9.7) by the owner.
    await admin(owner, 'roles', { nick: 'Mod', role: 'participant' });
    await mod.waitFor((e) => e.is('presence') && e.attrs['from'] === `${roomJid('roles')}/Mod` && item(e)['role'] === 'participant' && codes(e).includes(110));
  });

  it('ban (301), membership, admin and owner: permission checks, lists, and the last owner', async (t) => {
    const owner = await server.connectClient(t, 'o2');
    const adm = await server.connectClient(t, 'a2');
    const u = await server.connectClient(t, 'u2');
    await createInstant(owner, 'affs', 'Owner');
    await join(adm, 'affs', 'Adm');
    await join(u, 'affs', 'User');
    // §10.6: the owner grants admin: the role follows (moderator).
    await admin(owner, 'affs', { jid: 'a2@localhost', affiliation: 'admin' });
    const admSelf = await adm.waitFor((e) => e.is('presence') && codes(e).includes(110) && item(e)['affiliation'] === 'admin');
    assert.equal(item(admSelf)['role'], 'moderator');
    // An admin may not grant admin or owner (forbidden), nor touch an owner (not-allowed).
    await rejectsWith(admin(adm, 'affs', { jid: 'u2@localhost', affiliation: 'admin' }), 'forbidden');
    await rejectsWith(admin(adm, 'affs', { jid: 'o2@localhost', affiliation: 'outcast' }), 'not-allowed');
    await rejectsWith(admin(u, 'affs', { jid: 'a2@localhost', affiliation: 'none' }), 'forbidden');
    // §9.3 membership, §9.5 member list.
    await admin(adm, 'affs', { jid: 'u2@localhost', affiliation: 'member' });
    await u.waitFor((e) => e.is('presence') && codes(e).includes(110) && item(e)['affiliation'] === 'member');
    const members = await adm.iqGet(xml('query', { xmlns: NS_ADMIN }, xml('item', { affiliation: 'member' })), roomJid('affs'));
    assert.deepEqual(members.getChildren('item').map((i) => i.attrs['jid']), ['u2@localhost']);
    // A change for someone absent is told to those who see real JIDs (the owner and admin here).
    await admin(adm, 'affs', { jid: 'absent@localhost', affiliation: 'member' });
    const absent = await owner.waitFor((e) => e.is('message') && e.getChild('x', NS_USER)?.getChild('item')?.attrs['jid'] === 'absent@localhost');
    assert.equal(item(absent)['affiliation'], 'member');
    await u.expectNone((e) => e.is('message') && e.getChild('x', NS_USER)?.getChild('item') !== undefined, 2000, 'a real JID shown to a participant');
    await admin(adm, 'affs', { jid: 'absent@localhost', affiliation: 'none' });
    // §10.5 owner list; admins' list only to owners and admins.
    const owners = await owner.iqGet(xml('query', { xmlns: NS_ADMIN }, xml('item', { affiliation: 'owner' })), roomJid('affs'));
    assert.deepEqual(owners.getChildren('item').map((i) => i.attrs['jid']), ['o2@localhost']);
    await rejectsWith(u.iqGet(xml('query', { xmlns: NS_ADMIN }, xml('item', { affiliation: 'admin' })), roomJid('affs')), 'forbidden');
    // §9.1 ban: 301 with the reason; the banned user can't come back (forbidden); ban list.
    await admin(adm, 'affs', { jid: 'u2@localhost', affiliation: 'outcast' }, 'spam');
    const banned = await u.waitFor(presenceFrom(`${roomJid('affs')}/User`, 'unavailable'));
    assert.deepEqual(codes(banned), [110, 301]);
    assert.equal(item(banned)['affiliation'], 'outcast');
    const seen = await owner.waitFor(presenceFrom(`${roomJid('affs')}/User`, 'unavailable'));
    assert.deepEqual(codes(seen), [301]);
    assert.equal(await joinError(u, 'affs', 'User'), 'forbidden');
    const outcasts = await adm.iqGet(xml('query', { xmlns: NS_ADMIN }, xml('item', { affiliation: 'outcast' })), roomJid('affs'));
    assert.equal(outcasts.getChild('item')?.getChildText('reason'), 'spam');
    // §10.3 a second owner, then the last owner cannot go (conflict).
    await admin(owner, 'affs', { jid: 'a2@localhost', affiliation: 'owner' });
    await admin(adm, 'affs', { jid: 'o2@localhost', affiliation: 'admin' });
    await rejectsWith(admin(adm, 'affs', { jid: 'a2@localhost', affiliation: 'admin' }), 'conflict');
    // §10.4 revoke admin: role back to participant.
    await admin(adm, 'affs', { jid: 'o2@localhost', affiliation: 'none' });
    await owner.waitFor((e) => e.is('presence') && codes(e).includes(110) && item(e)['affiliation'] === 'none' && item(e)['role'] === 'participant');
  });

  it('members-only: registration-required, 321 on losing membership, 322 on the switch; admins invite members', async (t) => {
    const owner = await server.connectClient(t, 'o3');
    const guest = await server.connectClient(t, 'g3');
    const friend = await server.connectClient(t, 'f3');
    await createInstant(owner, 'club', 'Owner');
    await join(guest, 'club', 'Guest');
    await join(friend, 'club', 'Friend');
    // Available, so messages to the bare JIDs (invitation, decline) reach them.
    await guest.send(xml('presence'));
    await owner.send(xml('presence'));
    await admin(owner, 'club', { jid: 'f3@localhost', affiliation: 'member' });
    await configure(owner, 'club', { 'muc#roomconfig_membersonly': '1' });
    const note = await friend.waitFor((e) => e.is('message') && codes(e).includes(104));
    assert.equal(note.attrs['from'], roomJid('club'));
    const out = await guest.waitFor(presenceFrom(`${roomJid('club')}/Guest`, 'unavailable'));
    assert.deepEqual(codes(out), [110, 322]);
    assert.equal(await joinError(guest, 'club', 'Guest'), 'registration-required');
    await admin(owner, 'club', { jid: 'f3@localhost', affiliation: 'none' });
    const lost = await friend.waitFor(presenceFrom(`${roomJid('club')}/Friend`, 'unavailable'));
    assert.deepEqual(codes(lost), [110, 321]);
    // §7.8.2: an owner's invitation to a members-only room makes the invitee a member.
    await owner.send(xml('message', { to: roomJid('club') }, xml('x', { xmlns: NS_USER }, xml('invite', { to: 'g3@localhost' }, xml('reason', {}, 'come back')))));
    const inv = await guest.waitFor((e) => e.is('message') && e.attrs['from'] === roomJid('club') && e.getChild('x', NS_USER)?.getChild('invite') !== undefined);
    assert.equal(inv.getChild('x', NS_USER)?.getChild('invite')?.attrs['from'], 'o3@localhost');
    assert.equal(inv.getChild('x', NS_USER)?.getChild('invite')?.getChildText('reason'), 'come back');
    const back = await join(guest, 'club', 'Guest');
    assert.equal(item(back)['affiliation'], 'member');
    // §7.8.2 decline reaches the inviter through the room.
    await guest.send(xml('message', { to: roomJid('club') }, xml('x', { xmlns: NS_USER }, xml('decline', { to: 'o3@localhost' }, xml('reason', {}, 'busy')))));
    const dec = await owner.waitFor((e) => e.is('message') && e.getChild('x', NS_USER)?.getChild('decline') !== undefined);
    assert.equal(dec.getChild('x', NS_USER)?.getChild('decline')?.attrs['from'], 'g3@localhost');
  });

  it('password-protected (not-authorized), max users (service-unavailable), direct invitations pass through', async (t) => {
    const owner = await server.connectClient(t, 'o4');
    const v = await server.connectClient(t, 'v4');
    const w = await server.connectClient(t, 'w4');
    await createInstant(owner, 'secret', 'Owner');
    await configure(owner, 'secret', { 'muc#roomconfig_passwordprotectedroom': '1', 'muc#roomconfig_roomsecret': 'sesame', 'muc#roomconfig_maxusers': '2' });
    assert.equal(await joinError(v, 'secret', 'V'), 'not-authorized');
    assert.equal(await joinError(v, 'secret', 'V', [xml('password', {}, 'wrong')]), 'not-authorized');
    await join(v, 'secret', 'V', [xml('password', {}, 'sesame')]);
    assert.equal(await joinError(w, 'secret', 'W', [xml('password', {}, 'sesame')]), 'service-unavailable');
    // The room asks no logging: a form asking for it is refused.
    await rejectsWith(configure(owner, 'secret', { 'muc#roomconfig_enablelogging': '1' }), 'not-acceptable');
    const form = await owner.iqGet(xml('query', { xmlns: NS_OWNER }), roomJid('secret'));
    const vars = form.getChild('x', 'jabber:x:data')?.getChildren('field').map((f) => f.attrs['var']) ?? [];
    assert.ok(!vars.includes('muc#roomconfig_enablelogging'));
    for (const f of ['muc#roomconfig_roomname', 'muc#roomconfig_whois', 'muc#roomconfig_allowpm', 'muc#maxhistoryfetch']) assert.ok(vars.includes(f), f);
    await rejectsWith(v.iqGet(xml('query', { xmlns: NS_OWNER }), roomJid('secret')), 'forbidden');
    // XEP-0249: a direct invitation is a message between users.
    await w.send(xml('presence'));
    await w.ping();
    await v.send(xml('message', { to: 'w4@localhost' }, xml('x', { xmlns: 'jabber:x:conference', jid: roomJid('secret'), password: 'sesame' })));
    const direct = await w.waitFor((e) => e.is('message') && e.getChild('x', 'jabber:x:conference') !== undefined);
    assert.equal(direct.getChild('x', 'jabber:x:conference')?.attrs['jid'], roomJid('secret'));
  });

  it('moderated room: visitors request voice (§8.6), a moderator approves', async (t) => {
    const owner = await server.connectClient(t, 'o5');
    const vis = await server.connectClient(t, 'v5');
    await createInstant(owner, 'stage', 'Owner');
    await configure(owner, 'stage', { 'muc#roomconfig_moderatedroom': '1' });
    const self = await join(vis, 'stage', 'Vis');
    assert.equal(item(self)['role'], 'visitor');
    await vis.send(xml('message', { to: roomJid('stage') }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
      xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/muc#request')),
      xml('field', { var: 'muc#role', type: 'list-single' }, xml('value', {}, 'participant')))));
    const request = await owner.waitFor((e) => e.is('message') && e.getChild('x', 'jabber:x:data') !== undefined);
    const fields = request.getChild('x', 'jabber:x:data')!.getChildren('field');
    assert.equal(fields.find((f) => f.attrs['var'] === 'muc#roomnick')?.getChildText('value'), 'Vis');
    await owner.send(xml('message', { to: roomJid('stage') }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
      xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/muc#request')),
      xml('field', { var: 'muc#role' }, xml('value', {}, 'participant')),
      xml('field', { var: 'muc#roomnick' }, xml('value', {}, 'Vis')),
      xml('field', { var: 'muc#request_allow' }, xml('value', {}, 'true')))));
    await vis.waitFor((e) => e.is('presence') && codes(e).includes(110) && item(e)['role'] === 'participant');
    await say(vis, 'stage', 'now I can talk');
    await owner.waitFor(groupchat('stage', 'Vis', 'now I can talk'));
  });

  it('nickname registration (§7.10) reserves the nick: others get conflict', async (t) => {
    const owner = await server.connectClient(t, 'o6');
    const reg = await server.connectClient(t, 'r6');
    const other = await server.connectClient(t, 'x6');
    await createInstant(owner, 'nickreg', 'Owner');
    const form = await reg.iqGet(xml('query', 'jabber:iq:register'), roomJid('nickreg'));
    assert.ok(form.getChild('x', 'jabber:x:data')?.getChildren('field').some((f) => f.attrs['var'] === 'muc#register_roomnick'));
    await reg.iqSet(xml('query', 'jabber:iq:register', xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
      xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/muc#register')),
      xml('field', { var: 'muc#register_roomnick' }, xml('value', {}, 'Reggie')))), roomJid('nickreg'));
    const again = await reg.iqGet(xml('query', 'jabber:iq:register'), roomJid('nickreg'));
    assert.ok(again.getChild('registered'));
    assert.equal(again.getChildText('username'), 'Reggie');
    assert.equal(await joinError(other, 'nickreg', 'Reggie'), 'conflict');
    const self = await join(reg, 'nickreg', 'Reggie');
    assert.equal(item(self)['affiliation'], 'member');
  });

  it('a server JID can be banned: its users without an affiliation of their own are out', async (t) => {
    const owner = await server.connectClient(t, 'o8');
    const guest = await server.connectClient(t, 'g8');
    await createInstant(owner, 'walled', 'Owner');
    await join(guest, 'walled', 'Guest');
    await admin(owner, 'walled', { jid: 'localhost', affiliation: 'outcast' }, 'closed to this server');
    const out = await guest.waitFor(presenceFrom(`${roomJid('walled')}/Guest`, 'unavailable'));
    assert.deepEqual(codes(out), [110, 301]);
    assert.equal(await joinError(guest, 'walled', 'Guest'), 'forbidden');
    // The owner's own affiliation wins over its server's.
    await owner.iqGet(xml('query', { xmlns: NS_OWNER }), roomJid('walled'));
  });

  it('destruction (§10.9): occupants leave with <destroy/>, reason and alternate venue', async (t) => {
    const owner = await server.connectClient(t, 'o7');
    const guest = await server.connectClient(t, 'g7');
    await createInstant(owner, 'doomed', 'Owner');
    await join(guest, 'doomed', 'Guest');
    await rejectsWith(guest.iqSet(xml('query', { xmlns: NS_OWNER }, xml('destroy', {})), roomJid('doomed')), 'forbidden');
    await owner.iqSet(xml('query', { xmlns: NS_OWNER }, xml('destroy', { jid: roomJid('newplace') }, xml('reason', {}, 'moving'))), roomJid('doomed'));
    const gone = await guest.waitFor(presenceFrom(`${roomJid('doomed')}/Guest`, 'unavailable'));
    const destroy = gone.getChild('x', NS_USER)?.getChild('destroy');
    assert.equal(destroy?.attrs['jid'], roomJid('newplace'));
    assert.equal(destroy?.getChildText('reason'), 'moving');
    await rejectsWith(guest.iqGet(xml('query', 'http://jabber.org/protocol/disco#info'), roomJid('doomed')), 'item-not-found');
  });
});
