// Issue 10: deleting an account erases everything it owns and frees the address at once. Its
// contacts are told (RFC 6121 §2.5.2 'unsubscribe'/'unsubscribed'), on this host and on others,
// and a new account under the same name starts empty: no roster, vCard, private XML, block list,
// offline messages or sessions of the old one.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { match, xml } from '../harness/client.ts';
import { eventually } from '../harness/eventually.ts';
import { befriend, rosterItem } from '../harness/contacts.ts';

const NS_ROSTER = 'jabber:iq:roster';



describe('account deletion (issue 10)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      hosts: ['one.test', 'two.test'],
      users: [['alice@one.test', 'alice-pw-1'], ['bob@one.test', 'bob-pw-1'], ['carol@two.test', 'carol-pw-1']],
    });
  });
  after(() => server.remove());

  it('erases everything of the account, tells its contacts, and frees the name at once', async (t) => {
    const alice = await server.connectClient(t, 'alice@one.test');
    const bob = await server.connectClient(t, 'bob@one.test');
    const carol = await server.connectClient(t, 'carol@two.test');
    for (const c of [alice, bob, carol]) await c.send(xml('presence'));
    await befriend(alice, 'alice@one.test', bob, 'bob@one.test');
    await befriend(alice, 'alice@one.test', carol, 'carol@two.test');
    await alice.iqSet(xml('vCard', 'vcard-temp', xml('FN', {}, 'Old Alice')));
    await alice.iqSet(xml('query', 'jabber:iq:private', xml('secret', 'urn:test:old', 'old private data')));
    await alice.iqSet(xml('block', 'urn:xmpp:blocking', xml('item', { jid: 'spammer@example.org' })));
    await alice.close();
    await bob.send(xml('message', { to: 'alice@one.test', type: 'chat' }, xml('body', {}, 'to the old alice')));
    await eventually(async () => (await rosterItem(bob, 'alice@one.test'))?.attrs['subscription'], 'both', "bob's subscription to alice");

    const del = await server.cli(['deluser', 'alice@one.test']);
    assert.equal(del.code, 0, del.stderr);
    // A contact on the same host loses the roster entry entirely (a push removes it).
    await eventually(async () => (await rosterItem(bob, 'alice@one.test'))?.toString(), undefined, "alice gone from bob's roster");
    // A contact on another host is told as a remote server would be: both subscriptions end.
    await carol.waitFor(match.presence('alice@one.test', 'unsubscribe'));
    await carol.waitFor(match.presence('alice@one.test', 'unsubscribed'));
    await eventually(async () => (await rosterItem(carol, 'alice@one.test'))?.attrs['subscription'], 'none', "carol's subscription to alice");

    // The address is free at once, and the new account inherits nothing.
    const add = await server.cli(['adduser', 'alice@one.test', '--password', 'new-alice-pw']);
    assert.equal(add.code, 0, add.stderr);
    await assert.rejects(server.connectClient(t, 'alice@one.test', { password: 'alice-pw-1' }));
    const again = await server.connectClient(t, 'alice@one.test', { password: 'new-alice-pw' });
    await again.send(xml('presence'));
    assert.equal((await again.iqGet(xml('query', NS_ROSTER))).getChildren('item').length, 0);
    assert.equal((await again.iqGet(xml('vCard', 'vcard-temp'))).getChildText('FN'), null);
    const priv = await again.iqGet(xml('query', 'jabber:iq:private', xml('secret', 'urn:test:old')));
    assert.equal(priv.getChild('secret', 'urn:test:old')?.children.length ?? 0, 0);
    assert.equal((await again.iqGet(xml('blocklist', 'urn:xmpp:blocking'))).getChildren('item').length, 0);
    await again.expectNone(match.message('bob@one.test', 'to the old alice'), 1000);
    // Bob's and carol's presence no longer reaches the new account.
    await bob.send(xml('presence', {}, xml('status', {}, 'still here')));
    await again.expectNone(match.presence('bob@one.test'), 500);
  });

  it('ends the sessions of an account deleted while it is online', async (t) => {
    await server.cli(['adduser', 'dave@one.test', '--password', 'dave-pw-1']);
    const dave = await server.connectClient(t, 'dave@one.test', { password: 'dave-pw-1' });
    const del = await server.cli(['deluser', 'dave@one.test']);
    assert.equal(del.code, 0, del.stderr);
    const err = await dave.waitFor(match.streamError('not-authorized'));
    assert.ok(err);
  });
});
