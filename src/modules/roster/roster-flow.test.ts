// RFC 6121 §2–§4 through the real router and module loader (no sockets): roster get/set/remove
// with pushes, the subscription handshake, pre-approval, probes, broadcast and account deletion.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { el, type Element } from '../../core/xml/element.ts';
import { roster } from './index.ts';
import { FakeHost, isPresence, isPush, type FakeSession } from './in-process-host.fixture.ts';
import type { AnyModule } from '../../core/modules.ts';

const NS = 'jabber:iq:roster';
const A = 'alice@example.com';
const B = 'bob@example.com';
const C = 'carol@example.com';

const q = (attrs: Record<string, string> = {}, ...items: Element[]) => el('query', { xmlns: NS, ...attrs }, ...items);
const item = (attrs: Record<string, string>, ...groups: string[]) => el('item', attrs, ...groups.map((g) => el('group', {}, g)));

function pushedItem(p: Element): Element {
  const i = p.getChild('query', NS)?.getChild('item');
  assert.ok(i, `push without item: ${p.toString()}`);
  return i;
}

function errorCondition(reply: Element): string | undefined {
  assert.equal(reply.attrs['type'], 'error', reply.toString());
  return reply.getChild('error')?.elements[0]?.name;
}

let h: FakeHost;
beforeEach(async () => {
  h = await FakeHost.start([roster as AnyModule]);
});
afterEach(async () => {
  await h.stop();
});

/** Logs in, fetches the roster and sends initial presence, as a typical client does. */
async function online(local: string, resource = 'r1', ver?: string): Promise<FakeSession> {
  const s = await h.login(local, resource);
  const r = await h.iq(s, 'get', q(ver !== undefined ? { ver } : {}));
  assert.equal(r.attrs['type'], 'result');
  await h.presence(s);
  return s;
}

/** Subscribes `a` to `b` and back, both online. */
async function mutual(a: FakeSession, b: FakeSession): Promise<void> {
  await h.presence(a, { to: b.jid.bareString, type: 'subscribe' });
  await h.presence(b, { to: a.jid.bareString, type: 'subscribed' });
  await h.presence(b, { to: a.jid.bareString, type: 'subscribe' });
  await h.presence(a, { to: b.jid.bareString, type: 'subscribed' });
  a.take();
  b.take();
}

describe('roster management (§2)', () => {
  it('adds, updates and removes items, pushing to every interested resource only', async () => {
    const a1 = await h.login('alice', 'one');
    const a2 = await h.login('alice', 'two');
    const a3 = await h.login('alice', 'three'); // never asks for the roster: not interested
    assert.equal((await h.iq(a1, 'get', q())).getChild('query')?.elements.length, 0);
    await h.iq(a2, 'get', q());

    const r = await h.iq(a1, 'set', q({}, item({ jid: B, name: 'Bob' }, 'Friends')));
    assert.equal(r.attrs['type'], 'result');
    assert.equal(r.elements.length, 0);
    for (const s of [a1, a2]) {
      const [p] = s.take(isPush);
      assert.ok(p, `push to ${s.jid.toString()}`);
      assert.equal(p.attrs['to'], s.jid.toString());
      assert.equal(p.attrs['from'], A);
      assert.equal(pushedItem(p).toString(), '<item jid="bob@example.com" name="Bob" subscription="none"><group>Friends</group></item>');
    }
    assert.equal(a3.take(isPush).length, 0);

    await h.iq(a2, 'set', q({}, item({ jid: B }, 'Work', 'Friends')));
    const [p1] = a1.take(isPush);
    assert.ok(p1);
    assert.equal(pushedItem(p1).toString(), '<item jid="bob@example.com" subscription="none"><group>Work</group><group>Friends</group></item>');
    const [p2] = a2.take(isPush);
    assert.ok(p2);
    assert.notEqual(p1.attrs['id'], p2.attrs['id']);

    const got = await h.iq(a3, 'get', q());
    assert.equal(got.getChild('query')?.elements.length, 1);

    assert.equal((await h.iq(a1, 'set', q({}, item({ jid: B, subscription: 'remove' })))).attrs['type'], 'result');
    for (const s of [a1, a2, a3]) assert.equal(pushedItem(s.take(isPush)[0] as Element).attrs['subscription'], 'remove');
    assert.equal(errorCondition(await h.iq(a1, 'set', q({}, item({ jid: B, subscription: 'remove' })))), 'item-not-found');
  });

  it('rejects malformed roster sets and sets of other accounts', async () => {
    const a = await h.login('alice');
    await h.user('bob');
    assert.equal(errorCondition(await h.iq(a, 'set', q())), 'bad-request');
    assert.equal(errorCondition(await h.iq(a, 'set', q({}, item({ jid: B }), item({ jid: C })))), 'bad-request');
    assert.equal(errorCondition(await h.iq(a, 'set', q({}, item({ jid: B }, 'G', 'G')))), 'bad-request');
    assert.equal(errorCondition(await h.iq(a, 'set', q({}, item({ jid: B }, '')))), 'not-acceptable');
    assert.equal(errorCondition(await h.iq(a, 'set', q({}, item({ jid: B, name: 'x'.repeat(300) })))), 'not-acceptable');
    assert.equal(errorCondition(await h.iq(a, 'set', q({}, item({ jid: '@bad' })))), 'jid-malformed');
    assert.equal(errorCondition(await h.iq(a, 'set', q({}, item({ jid: A })))), 'not-allowed');
    assert.equal(errorCondition(await h.iq(a, 'set', q({}, item({ jid: C })), B)), 'forbidden');
    assert.equal(errorCondition(await h.iq(a, 'get', q(), B)), 'forbidden');
    // A subscription value other than "remove" is ignored, never trusted.
    await h.iq(a, 'set', q({}, item({ jid: C, subscription: 'both' })));
    const list = await h.iq(a, 'get', q());
    assert.equal(list.getChild('query')?.getChild('item')?.attrs['subscription'], 'none');
  });

  it('versions the roster (XEP-0237): empty result when current, ver on results and pushes', async () => {
    const a = await h.login('alice');
    const first = (await h.iq(a, 'get', q({ ver: '' }))).getChild('query');
    const v0 = first?.attrs['ver'];
    assert.ok(v0);
    await h.iq(a, 'set', q({}, item({ jid: B })));
    const [p] = a.take(isPush);
    const v1 = p?.getChild('query')?.attrs['ver'];
    assert.ok(v1 && v1 !== v0);
    const again = await h.iq(a, 'get', q({ ver: v1 }));
    assert.equal(again.attrs['type'], 'result');
    assert.equal(again.elements.length, 0, 'current version: empty result');
    const stale = (await h.iq(a, 'get', q({ ver: v0 }))).getChild('query');
    assert.equal(stale?.attrs['ver'], v1);
    assert.equal(stale?.elements.length, 1);
    // A client that never used versioning gets neither 'ver' in results nor in pushes.
    const plain = await h.login('alice', 'plain');
    assert.equal((await h.iq(plain, 'get', q())).getChild('query')?.attrs['ver'], undefined);
    await h.iq(a, 'set', q({}, item({ jid: C })));
    assert.equal(plain.take(isPush)[0]?.getChild('query')?.attrs['ver'], undefined);
  });
});

describe('subscriptions (§3)', () => {
  it('runs the full handshake both ways, ending in "both" with presence flowing', async () => {
    const a = await online('alice');
    const b = await online('bob');
    a.take();
    b.take();

    await h.presence(a, { to: `${B}/r1`, type: 'subscribe' }, el('status', {}, 'hi'));
    assert.equal(pushedItem(a.take(isPush)[0] as Element).toString(), '<item jid="bob@example.com" subscription="none" ask="subscribe"/>');
    const [req] = b.take(isPresence('subscribe'));
    assert.equal(req?.attrs['from'], A, 'stamped with the bare JID');
    assert.equal(req?.attrs['to'], B);
    assert.equal(req?.getChildText('status'), 'hi');
    assert.equal(b.take(isPush).length, 0, 'a request alone adds nothing to the roster');

    await h.presence(b, { to: A, type: 'subscribed' });
    assert.equal(pushedItem(b.take(isPush)[0] as Element).attrs['subscription'], 'from');
    assert.equal(pushedItem(a.take(isPush)[0] as Element).toString(), '<item jid="bob@example.com" subscription="to"/>');
    assert.equal(a.take(isPresence('subscribed', B)).length, 1);
    assert.equal(a.take(isPresence(undefined, `${B}/r1`)).length, 1, "bob's presence follows the approval");

    await h.presence(b, { to: A, type: 'subscribe' });
    assert.equal(pushedItem(b.take(isPush)[0] as Element).attrs['ask'], 'subscribe');
    assert.equal(a.take(isPresence('subscribe', B)).length, 1);
    await h.presence(a, { to: B, type: 'subscribed' });
    assert.equal(pushedItem(a.take(isPush)[0] as Element).attrs['subscription'], 'both');
    assert.equal(pushedItem(b.take(isPush)[0] as Element).toString(), '<item jid="alice@example.com" subscription="both"/>');
    assert.equal(b.take(isPresence(undefined, `${A}/r1`)).length, 1);

    // Presence updates now reach each other (and the sender's own resources).
    await h.presence(a, {}, el('show', {}, 'away'));
    const [seen] = b.take(isPresence(undefined, `${A}/r1`));
    assert.equal(seen?.getChildText('show'), 'away');
    assert.equal(a.take(isPresence(undefined, `${A}/r1`)).length, 1);
  });

  it('keeps a request for an offline contact and delivers it at the next login', async () => {
    const a = await online('alice');
    await h.user('bob');
    await h.presence(a, { to: B, type: 'subscribe' }, el('status', {}, 'it is me'), el('nick', { xmlns: 'http://jabber.org/protocol/nick' }, 'Ali'));
    const b = await h.login('bob');
    await h.iq(b, 'get', q());
    assert.equal(b.take(isPresence('subscribe')).length, 0);
    await h.presence(b);
    const [req] = b.take(isPresence('subscribe', A));
    assert.equal(req?.getChildText('status'), 'it is me');
    assert.equal(req?.getChildText('nick', 'http://jabber.org/protocol/nick'), 'Ali');
    // Still pending at the login after that, until answered.
    const b2 = await h.login('bob', 'r2');
    await h.presence(b2);
    assert.equal(b2.take(isPresence('subscribe', A)).length, 1);
    await h.presence(b, { to: A, type: 'unsubscribed' });
    assert.equal(pushedItem(a.take(isPush).at(-1) as Element).toString(), '<item jid="bob@example.com" subscription="none"/>');
    const b3 = await h.login('bob', 'r3');
    await h.presence(b3);
    assert.equal(b3.take(isPresence('subscribe')).length, 0);
    assert.equal((await h.iq(b3, 'get', q())).getChild('query')?.elements.length, 0, 'a denied stranger leaves no item');
  });

  it('honours pre-approvals (§3.4) and lets unsubscribed withdraw one', async () => {
    const a = await online('alice');
    const b = await online('bob');
    await h.presence(b, { to: A, type: 'subscribed' });
    assert.equal(pushedItem(b.take(isPush)[0] as Element).toString(), '<item jid="alice@example.com" subscription="none" approved="true"/>');
    assert.equal(a.take(isPresence('subscribed')).length, 0, 'a pre-approval is not routed');

    await h.presence(a, { to: B, type: 'subscribe' });
    assert.equal(b.take(isPresence('subscribe')).length, 0, 'a pre-approved request is not shown');
    assert.equal(pushedItem(b.take(isPush)[0] as Element).toString(), '<item jid="alice@example.com" subscription="from"/>');
    assert.equal(pushedItem(a.take(isPush).at(-1) as Element).attrs['subscription'], 'to');
    assert.equal(a.take(isPresence('subscribed', B)).length, 1);
    assert.equal(a.take(isPresence(undefined, `${B}/r1`)).length, 1);

    // Withdrawing a pre-approval: carol's request is then shown as usual.
    await h.presence(b, { to: C, type: 'subscribed' });
    await h.presence(b, { to: C, type: 'unsubscribed' });
    assert.equal(pushedItem(b.take(isPush).at(-1) as Element).attrs['approved'], undefined);
    const c = await online('carol');
    await h.presence(c, { to: B, type: 'subscribe' });
    assert.equal(b.take(isPresence('subscribe', C)).length, 1);
  });

  it('answers a repeated subscribe itself when already subscribed', async () => {
    const a = await online('alice');
    const b = await online('bob');
    await mutual(a, b);
    await h.presence(a, { to: B, type: 'subscribe' });
    assert.equal(b.take(isPresence('subscribe')).length, 0, 'not shown to bob (A.3.1)');
    // The automatic 'subscribed' changes nothing for alice, so it is not delivered (A.3.3).
    assert.equal(a.take(isPresence('subscribed', B)).length, 0);
    assert.equal(a.take(isPush).length, 0);
    assert.equal((await h.iq(a, 'get', q())).getChild('query')?.getChild('item')?.attrs['subscription'], 'both');
  });

  it('cancels and unsubscribes, with unavailable presence where visibility ends', async () => {
    const a = await online('alice');
    const b = await online('bob');
    await mutual(a, b);
    // Bob revokes alice's subscription to him: alice sees him go offline.
    await h.presence(b, { to: A, type: 'unsubscribed' });
    assert.equal(pushedItem(b.take(isPush)[0] as Element).attrs['subscription'], 'to');
    assert.equal(pushedItem(a.take(isPush)[0] as Element).attrs['subscription'], 'from');
    assert.equal(a.take(isPresence('unsubscribed', B)).length, 1);
    assert.equal(a.take(isPresence('unavailable', `${B}/r1`)).length, 1);
    // Bob unsubscribes from alice, so he stops seeing her.
    await h.presence(b, { to: A, type: 'unsubscribe' });
    assert.equal(pushedItem(b.take(isPush)[0] as Element).attrs['subscription'], 'none');
    assert.equal(pushedItem(a.take(isPush)[0] as Element).attrs['subscription'], 'none');
    assert.equal(b.take(isPresence('unavailable', `${A}/r1`)).length, 1);
    await h.presence(a, {}, el('show', {}, 'dnd'));
    assert.equal(b.take(isPresence(undefined, `${A}/r1`)).length, 0, 'no broadcast without subscription');
  });

  it('removing an item ends both subscriptions (§2.5.2)', async () => {
    const a = await online('alice');
    const b = await online('bob');
    await mutual(a, b);
    await h.iq(a, 'set', q({}, item({ jid: B, subscription: 'remove' })));
    assert.equal(pushedItem(a.take(isPush)[0] as Element).attrs['subscription'], 'remove');
    const bPushes = b.take(isPush).map((p) => pushedItem(p).attrs['subscription']);
    // 'unsubscribe' first (bob loses 'from'), then 'unsubscribed' (bob loses 'to').
    assert.deepEqual(bPushes, ['to', 'none']);
    assert.equal(b.take(isPresence('unavailable', `${A}/r1`)).length, 1);
  });
});

describe('presence (§4)', () => {
  it('probes at login: a later contact receives the earlier one\'s presence', async () => {
    const a = await online('alice');
    const b = await online('bob');
    await mutual(a, b);
    await h.drop(b);
    assert.equal(a.take(isPresence('unavailable', `${B}/r1`)).length, 1, 'unavailable when the session drops');
    await h.presence(a, {}, el('status', {}, 'working'));

    const b2 = await h.login('bob', 'laptop');
    await h.presence(b2);
    const [p] = b2.take(isPresence(undefined, `${A}/r1`));
    assert.equal(p?.getChildText('status'), 'working');
    assert.equal(a.take(isPresence(undefined, `${B}/laptop`)).length, 1);
    // The second resource of alice learns about the first, and the first about the second.
    const a2 = await h.login('alice', 'r2');
    await h.presence(a2);
    assert.equal(a2.take(isPresence(undefined, `${A}/r1`)).length, 1);
    assert.equal(a2.take(isPresence(undefined, `${B}/laptop`)).length, 1);
    assert.equal(a.take(isPresence(undefined, `${A}/r2`)).length, 1);
  });

  it('answers probes for an offline contact with unavailable, and ignores unauthorized probes', async () => {
    const a = await online('alice');
    const b = await online('bob');
    await mutual(a, b);
    await h.drop(b);
    const a2 = await h.login('alice', 'r2');
    await h.presence(a2);
    assert.equal(a2.take(isPresence('unavailable', B)).length, 1);

    const c = await online('carol');
    await h.presence(c, { to: A, type: 'probe' });
    assert.equal(c.take((e) => e.name === 'presence' && e.attrs['from']?.startsWith(A) === true).length, 0);
  });

  it('forgets a deleted account in every local roster', async () => {
    const a = await online('alice');
    const b = await online('bob');
    await mutual(a, b);
    await h.drop(b);
    a.take();
    await h.accounts.delete(h.host, 'bob');
    await h.rt.hooks.emit('user/deleted', { host: h.host, user: 'bob' });
    assert.equal(pushedItem(a.take(isPush)[0] as Element).attrs['subscription'], 'remove');
    assert.equal((await h.iq(a, 'get', q())).getChild('query')?.elements.length, 0);
    // A new bob inherits nothing.
    const nb = await online('bob');
    assert.equal((await h.iq(nb, 'get', q())).getChild('query')?.elements.length, 0);
    await h.presence(a, {}, el('show', {}, 'chat'));
    assert.equal(nb.take(isPresence(undefined, `${A}/r1`)).length, 0);
  });
});
