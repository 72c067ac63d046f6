// RFC 6121 end to end over real sockets: the server process with two independent client
// implementations (@xmpp/client and Python slixmpp) managing rosters, subscriptions and presence.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../../../test/harness/server.ts';
import { match, xml, type Element, type TestClient } from '../../../test/harness/client.ts';
import { connectSlix, slixmppUnavailable } from '../../../test/harness/slixmpp.ts';

const NS = 'jabber:iq:roster';

const isPush = (jid?: string) => (e: Element): boolean => {
  const item = e.is('iq') && e.attrs['type'] === 'set' ? e.getChild('query', NS)?.getChild('item') : undefined;
  return item !== undefined && (jid === undefined || item.attrs['jid'] === jid);
};
const pushed = (e: Element): Element => e.getChild('query', NS)?.getChild('item') as Element;

/** The roster item for `jid` as the server reports it now (undefined when absent). */
async function rosterItem(c: TestClient, jid: string): Promise<Element | undefined> {
  const q = await c.iqGet(xml('query', NS));
  return q.getChildren('item').find((i) => i.attrs['jid'] === jid);
}

async function conditionOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return String((e as { condition?: string }).condition);
  }
  return 'no error';
}

describe('roster and presence (RFC 6121) over sockets', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.remove());

  const jidOf = (local: string): string => `${local}@${server.domain}`;

  it('offers the rosterver and pre-approval stream features', async (t) => {
    const c = await server.connectClient(t, 'features');
    const features = c.received.filter((e) => e.is('features', 'http://etherx.jabber.org/streams')).at(-1);
    assert.ok(features, 'stream features seen');
    assert.ok(features.getChild('ver', 'urn:xmpp:features:rosterver'), features.toString());
    assert.ok(features.getChild('sub', 'urn:xmpp:features:pre-approval'), features.toString());
  });

  it('roster set/remove push to all interested resources; versioned get; bad sets rejected', async (t) => {
    const one = await server.connectClient(t, 'rita', { resource: 'one' });
    const two = await server.connectClient(t, 'rita', { resource: 'two' });
    const first = await one.iqGet(xml('query', { xmlns: NS, ver: '' }));
    const v0 = first.attrs['ver'];
    assert.ok(v0, 'ver on a versioned get');
    await two.iqGet(xml('query', NS));

    const contact = 'zed@example.org';
    await one.iqSet(xml('query', NS, xml('item', { jid: contact, name: 'Zed' }, xml('group', {}, 'Pals'))));
    for (const c of [one, two]) {
      const p = await c.waitFor(isPush(contact), 5000, 'roster push');
      assert.ok([undefined, jidOf('rita')].includes(p.attrs['from']), `push from ${String(p.attrs['from'])}`);
      assert.equal(pushed(p).attrs['name'], 'Zed');
      assert.equal(pushed(p).getChildText('group'), 'Pals');
      assert.equal(pushed(p).attrs['subscription'], 'none');
      // The client acknowledges the push (RFC 6121 §2.1.6).
      await c.send(xml('iq', { type: 'result', id: p.attrs['id'], to: p.attrs['from'] }));
    }
    const v1 = (await one.iqGet(xml('query', { xmlns: NS, ver: v0 }))).attrs['ver'];
    assert.ok(v1 && v1 !== v0);
    // XEP-0237: the cache is current, so the result is empty.
    const res = await one.xmpp.iqCaller.request(xml('iq', { type: 'get' }, xml('query', { xmlns: NS, ver: v1 })));
    assert.equal(res.attrs['type'], 'result');
    assert.equal(res.children.length, 0, res.toString());

    assert.equal(await conditionOf(one.iqSet(xml('query', NS, xml('item', { jid: 'a@x.org' }), xml('item', { jid: 'b@x.org' })))), 'bad-request');
    assert.equal(await conditionOf(one.iqSet(xml('query', NS, xml('item', { jid: 'a@x.org' }, xml('group', {}, 'G'), xml('group', {}, 'G'))))), 'bad-request');
    assert.equal(await conditionOf(one.iqSet(xml('query', NS, xml('item', { jid: 'a@x.org' }, xml('group'))))), 'not-acceptable');
    assert.equal(await conditionOf(one.iqSet(xml('query', NS, xml('item', { name: 'no jid' })))), 'bad-request');

    await two.iqSet(xml('query', NS, xml('item', { jid: contact, subscription: 'remove' })));
    for (const c of [one, two]) {
      const p = await c.waitFor(isPush(contact), 5000, 'removal push');
      assert.equal(pushed(p).attrs['subscription'], 'remove');
    }
    assert.equal(await rosterItem(one, contact), undefined);
  });

  it('subscription handshake both ways between @xmpp/client and slixmpp', { skip: slixmppUnavailable() }, async (t) => {
    const alice = await server.connectClient(t, 'alice');
    await alice.iqGet(xml('query', NS));
    await alice.send(xml('presence'));
    const bobJid = jidOf('bob');
    const bobPw = server.passwords.get(bobJid) ?? (await server.adduser(bobJid));
    const bob = await connectSlix(t, { jid: bobJid, password: bobPw, port: server.ports.c2s_starttls, resource: 'slix' });
    await bob.rosterGet();
    await bob.sendPresence({ status: 'on the python side' });

    await alice.send(xml('presence', { to: bobJid, type: 'subscribe' }));
    const ask = await alice.waitFor((e) => isPush(bobJid)(e) && pushed(e).attrs['ask'] === 'subscribe', 5000, 'ask push');
    assert.equal(pushed(ask).attrs['subscription'], 'none');
    const req = await bob.waitForStanza({ name: 'presence', from: jidOf('alice'), type: 'subscribe' });
    assert.equal(req.from, jidOf('alice'), 'stamped with the bare JID (§3.1.2)');

    // slixmpp answers by itself (auto_authorize) and asks back (auto_subscribe); if a future
    // version stops doing so, the test answers for it.
    const approved = await alice.waitFor(match.presence(bobJid, 'subscribed'), 3000).catch(async () => {
      await bob.subscribe(jidOf('alice'), 'subscribed');
      return alice.waitFor(match.presence(bobJid, 'subscribed'), 5000);
    });
    assert.equal(approved.attrs['from'], bobJid);
    const bobPresence = await alice.waitFor(match.presence(bobJid), 5000, "bob's presence after approval");
    assert.equal(bobPresence.getChildText('status'), 'on the python side');

    const back = await alice.waitFor(match.presence(bobJid, 'subscribe'), 3000).catch(async () => {
      await bob.subscribe(jidOf('alice'), 'subscribe');
      return alice.waitFor(match.presence(bobJid, 'subscribe'), 5000);
    });
    assert.equal(back.attrs['from'], bobJid);
    await alice.send(xml('presence', { to: bobJid, type: 'subscribed' }));
    await bob.waitForStanza({ name: 'presence', from: jidOf('alice'), type: 'subscribed' });
    await bob.waitForStanza({ name: 'presence', from: jidOf('alice'), type: null });

    assert.equal((await rosterItem(alice, bobJid))?.attrs['subscription'], 'both');
    // slixmpp caches the roster with XEP-0237, so its own get is answered empty now (its
    // version is current); the pushes it got and an unversioned get both show 'both'.
    const cached = await bob.rosterGet();
    assert.deepEqual(cached.items, [], 'versioned get with a current ver: empty result');
    const lastPush = bob.events.filter((e) => e.event === 'stanza' && e.name === 'iq' && e.xml.includes(`jid="${jidOf('alice')}"`)).at(-1);
    assert.match(lastPush?.event === 'stanza' ? lastPush.xml : '', /subscription="both"/);
    const full = await bob.iq(`<iq type='get'><query xmlns='${NS}'/></iq>`);
    assert.equal(full.type, 'result');
    const aliceItem = /<item [^>]*>/g[Symbol.match](full.xml)?.find((i) => i.includes(`jid="${jidOf('alice')}"`));
    assert.match(aliceItem ?? full.xml, /subscription="both"/);

    // Presence now flows both ways; bob leaving is seen as unavailable.
    await alice.send(xml('presence', {}, xml('show', {}, 'away')));
    await bob.waitFor((e) => e.event === 'stanza' && e.name === 'presence' && (e.from ?? '').startsWith(`${jidOf('alice')}/`) && e.xml.includes('<show>away</show>'), 5000, 'away');
    await bob.disconnect();
    await alice.waitFor(match.presence(bobJid, 'unavailable'), 5000, 'unavailable after bob left');
  });

  it('pre-approval (§3.4): a pre-approved request is approved at once', async (t) => {
    const pia = await server.connectClient(t, 'pia');
    const quinn = await server.connectClient(t, 'quinn');
    for (const c of [pia, quinn]) {
      await c.iqGet(xml('query', NS));
      await c.send(xml('presence'));
    }
    await quinn.send(xml('presence', { to: jidOf('pia'), type: 'subscribed' }));
    const pre = await quinn.waitFor(isPush(jidOf('pia')), 5000, 'pre-approval push');
    assert.equal(pushed(pre).attrs['approved'], 'true');
    assert.equal(pushed(pre).attrs['subscription'], 'none');

    await pia.send(xml('presence', { to: jidOf('quinn'), type: 'subscribe' }));
    await pia.waitFor(match.presence(jidOf('quinn'), 'subscribed'), 5000, 'automatic approval');
    await pia.waitFor(match.presence(jidOf('quinn')), 5000, "quinn's presence");
    const now = await quinn.waitFor((e) => isPush(jidOf('pia'))(e) && pushed(e).attrs['subscription'] === 'from', 5000);
    assert.equal(pushed(now).attrs['approved'], undefined, 'the pre-approval is used up');
    await quinn.expectNone(match.presence(jidOf('pia'), 'subscribe'), 300, 'the request is not shown');
  });

  it('probes at login and unavailable when a socket drops (once the XEP-0198 resumption time is over)', async (t) => {
    // Stock @xmpp/client enables resumable stream management: a dropped socket leaves the session
    // waiting for resumption (limits.sm_resume_timeout) before it is unavailable; shortened here.
    const server = await startServer({ config: { limits: { sm_resume_timeout: '1s' } } });
    t.after(() => server.stop({ remove: true }));
    const una = await server.connectClient(t, 'una');
    const vic = await server.connectClient(t, 'vic');
    for (const c of [una, vic]) {
      await c.iqGet(xml('query', NS));
      await c.send(xml('presence'));
    }
    // Mutual subscription.
    await una.send(xml('presence', { to: jidOf('vic'), type: 'subscribe' }));
    await vic.waitFor(match.presence(jidOf('una'), 'subscribe'));
    await vic.send(xml('presence', { to: jidOf('una'), type: 'subscribed' }));
    await vic.send(xml('presence', { to: jidOf('una'), type: 'subscribe' }));
    await una.waitFor(match.presence(jidOf('vic'), 'subscribe'));
    await una.send(xml('presence', { to: jidOf('vic'), type: 'subscribed' }));
    await vic.waitFor(match.presence(jidOf('una')), 5000, "una's presence");

    // Vic's socket dies without a closing stream: when the session is not resumed, una is told vic is unavailable.
    vic.tlsSocket()?.destroy();
    await una.waitFor(match.presence(jidOf('vic'), 'unavailable'), 10_000, 'unavailable after the drop');

    await una.send(xml('presence', {}, xml('status', {}, 'still here')));
    const vic2 = await server.connectClient(t, 'vic', { resource: 'again' });
    await vic2.send(xml('presence'));
    const p = await vic2.waitFor(match.presence(jidOf('una')), 5000, "una's presence from the login probe");
    assert.equal(p.getChildText('status'), 'still here');
    await una.waitFor((e) => e.is('presence') && e.attrs['from'] === `${jidOf('vic')}/again` && e.attrs['type'] === undefined, 5000);
  });

  it('a deleted account leaves the rosters it was in (a new one of that name inherits nothing)', async (t) => {
    const wes = await server.connectClient(t, 'wes');
    const xia = await server.connectClient(t, 'xia');
    for (const c of [wes, xia]) {
      await c.iqGet(xml('query', NS));
      await c.send(xml('presence'));
    }
    await xia.send(xml('presence', { to: jidOf('wes'), type: 'subscribed' }));
    await wes.send(xml('presence', { to: jidOf('xia'), type: 'subscribe' }));
    await wes.waitFor(match.presence(jidOf('xia')), 5000, "xia's presence");
    wes.clear();

    const res = await server.cli(['deluser', jidOf('xia')]);
    assert.equal(res.code, 0, res.stderr);
    const gone = await wes.waitFor((e) => isPush(jidOf('xia'))(e) && pushed(e).attrs['subscription'] === 'remove', 5000, 'removal push');
    assert.ok(gone);
    await wes.waitFor(match.presence(jidOf('xia'), 'unavailable'), 5000);

    await server.adduser(jidOf('xia'));
    const xia2 = await server.connectClient(t, 'xia', { resource: 'new' });
    assert.equal((await xia2.iqGet(xml('query', NS))).getChildren('item').length, 0);
    await xia2.send(xml('presence'));
    await wes.send(xml('presence', {}, xml('status', {}, 'not for the new xia')));
    await xia2.expectNone(match.presence(jidOf('wes')), 500, "no presence from wes");
  });
});
