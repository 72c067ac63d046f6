// XEP-0280 Message Carbons end to end, over real sockets against the real server process:
// @xmpp/client for the raw protocol, and slixmpp's stock xep_0280 plugin, which accepts a copy
// only when it comes from the account's bare JID (§11).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../../../test/harness/server.ts';
import { xml, type Element, type TestClient } from '../../../test/harness/client.ts';
import { connectSlix, slixmppUnavailable, type SlixEvent } from '../../../test/harness/slixmpp.ts';

const NS = 'urn:xmpp:carbons:2';
const NS_FORWARD = 'urn:xmpp:forward:0';
const NS_HINTS = 'urn:xmpp:hints';

/** A carbon copy of kind `kind` carrying the message with this id. */
const copyOf = (kind: 'sent' | 'received', id: string) => (e: Element): boolean =>
  e.is('message') && e.getChild(kind, NS)?.getChild('forwarded', NS_FORWARD)?.getChild('message')?.attrs['id'] === id;
const original = (id: string) => (e: Element): boolean => e.is('message') && e.attrs['id'] === id && !e.getChild('sent', NS) && !e.getChild('received', NS);
const anyCopy = (id: string) => (e: Element): boolean => copyOf('sent', id)(e) || copyOf('received', id)(e);

const chat = (to: string, id: string, body: string, ...extra: Element[]) => xml('message', { to, id, type: 'chat' }, xml('body', {}, body), ...extra);

describe('XEP-0280 Message Carbons', () => {
  let server: TestServer;
  let phone: TestClient;
  let laptop: TestClient;
  let tablet: TestClient;
  let bob: TestClient;
  let seq = 0;
  const nextId = () => `c${++seq}`;

  before(async () => {
    server = await startServer();
    phone = await server.connectClient(undefined, 'alice', { resource: 'phone' });
    laptop = await server.connectClient(undefined, 'alice', { resource: 'laptop' });
    tablet = await server.connectClient(undefined, 'alice', { resource: 'tablet' });
    bob = await server.connectClient(undefined, 'bob');
    // laptop wins bare-JID messages; phone and tablet are lower.
    await laptop.send(xml('presence', {}, xml('priority', {}, '5')));
    await phone.send(xml('presence', {}, xml('priority', {}, '1')));
    await tablet.send(xml('presence', {}, xml('priority', {}, '1')));
    await bob.send(xml('presence'));
  });
  after(async () => {
    for (const c of [phone, laptop, tablet, bob]) await c.close();
    await server.stop();
  });

  it('advertises urn:xmpp:carbons:2 and enables/disables repeatedly (§3, §4, §5, §9.1)', async () => {
    const info = await phone.iqGet(xml('query', 'http://jabber.org/protocol/disco#info'), 'localhost');
    assert.ok(info.getChildren('feature').some((f: Element) => f.attrs['var'] === NS));
    // Twice each: a no-op, never an error. Without 'to' (the account) and to the domain.
    await phone.iqSet(xml('enable', NS));
    await phone.iqSet(xml('enable', NS), 'localhost');
    await tablet.iqSet(xml('enable', NS));
    await laptop.iqSet(xml('disable', NS));
    await laptop.iqSet(xml('disable', NS));
  });

  it('refuses to enable carbons for another account (§4.1)', async () => {
    await assert.rejects(bob.iqSet(xml('enable', NS), 'alice@localhost'), /not-allowed/);
  });

  it('copies a received message to the other enabled resources, from the bare JID (§6)', async () => {
    const id = nextId();
    await bob.send(chat('alice@localhost/laptop', id, 'to the laptop'));
    await laptop.waitFor(original(id));
    for (const c of [phone, tablet]) {
      const copy = await c.waitFor(copyOf('received', id), 5000, `received copy at ${String(c.jid)}`);
      assert.equal(copy.attrs['from'], 'alice@localhost');
      assert.equal(copy.attrs['to'], String(c.jid));
      assert.equal(copy.attrs['type'], 'chat');
      const inner = copy.getChild('received', NS)?.getChild('forwarded', NS_FORWARD)?.getChild('message');
      assert.equal(inner?.attrs['from'], String(bob.jid));
      assert.equal(inner?.attrs['to'], 'alice@localhost/laptop');
      assert.equal(inner?.getChildText('body'), 'to the laptop');
    }
    // The target gets the original only; nothing to the sender.
    await laptop.expectNone(anyCopy(id), 300, 'a copy at the resource the message was for');
    await bob.expectNone(anyCopy(id), 300, 'a copy at the sender');
  });

  it('a message to the bare JID: copies go to exactly the resources RFC 6121 did not pick', async () => {
    const id = nextId();
    await bob.send(xml('message', { to: 'alice@localhost', id }, xml('body', {}, 'normal with a body')));
    await laptop.waitFor(original(id));
    await phone.waitFor(copyOf('received', id));
    await tablet.waitFor(copyOf('received', id));
    await phone.expectNone(original(id), 300, 'the original at a lower priority');
  });

  it('copies a sent message to the other enabled resources, not to the sender (§7)', async () => {
    const id = nextId();
    // laptop has carbons disabled: its message is copied all the same.
    await laptop.send(chat('bob@localhost', id, 'from the laptop'));
    await bob.waitFor(original(id));
    for (const c of [phone, tablet]) {
      const copy = await c.waitFor(copyOf('sent', id), 5000, `sent copy at ${String(c.jid)}`);
      assert.equal(copy.attrs['from'], 'alice@localhost');
      assert.equal(copy.attrs['to'], String(c.jid));
      const inner = copy.getChild('sent', NS)?.getChild('forwarded', NS_FORWARD)?.getChild('message');
      assert.equal(inner?.attrs['from'], 'alice@localhost/laptop');
      assert.equal(inner?.attrs['to'], 'bob@localhost');
    }
    const fromPhone = nextId();
    await phone.send(chat('bob@localhost', fromPhone, 'from the phone'));
    await tablet.waitFor(copyOf('sent', fromPhone));
    await phone.expectNone(anyCopy(fromPhone), 300, 'a copy at the sending resource');
    await laptop.expectNone(anyCopy(fromPhone), 300, 'a copy at a resource with carbons disabled');
  });

  it('never copies <private/> or <no-copy/> messages, and strips <private/> on delivery (§8, XEP-0334)', async () => {
    const priv = nextId();
    await phone.send(chat('bob@localhost', priv, 'private', xml('private', NS), xml('no-copy', NS_HINTS)));
    const got = await bob.waitFor(original(priv));
    assert.equal(got.getChild('private', NS), undefined);
    const noCopy = nextId();
    await bob.send(chat('alice@localhost/laptop', noCopy, 'no copies please', xml('no-copy', NS_HINTS)));
    await laptop.waitFor(original(noCopy));
    const inPrivate = nextId();
    await bob.send(chat('alice@localhost/laptop', inPrivate, 'private too', xml('private', NS)));
    await laptop.waitFor(original(inPrivate));
    for (const c of [phone, tablet, laptop]) {
      for (const id of [priv, noCopy, inPrivate]) await c.expectNone(anyCopy(id), 300, `a copy of ${id}`);
    }
  });

  it('no copies of headlines or groupchat, nor of normal messages without a body (§6)', async () => {
    const headline = nextId();
    await bob.send(xml('message', { to: 'alice@localhost/laptop', id: headline, type: 'headline' }, xml('body', {}, 'news')));
    await laptop.waitFor(original(headline));
    const receipt = nextId();
    await bob.send(xml('message', { to: 'alice@localhost/laptop', id: receipt }, xml('received', { xmlns: 'urn:xmpp:receipts', id: 'x' })));
    await laptop.waitFor(original(receipt));
    for (const id of [headline, receipt]) await phone.expectNone(anyCopy(id), 300, `a copy of ${id}`);
  });

  it('disabling stops the copies', async () => {
    await tablet.iqSet(xml('disable', NS));
    const id = nextId();
    await bob.send(chat('alice@localhost/laptop', id, 'after disable'));
    await phone.waitFor(copyOf('received', id));
    await tablet.expectNone(anyCopy(id), 300, 'a copy after disable');
  });
});

describe('XEP-0280 with slixmpp\'s stock xep_0280 plugin', { skip: slixmppUnavailable() }, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop());

  it('carbons of sent and received messages reach the other resources, with the XEP\'s from', async (t) => {
    const password = await server.adduser('romeo');
    const slix = await connectSlix(t, { jid: 'romeo@localhost', password, port: server.ports.c2s_starttls, resource: 'garden' });
    await slix.sendPresence();
    const reply = await slix.command('enable_carbons');
    assert.equal(reply['type'], 'result');
    const home = await server.connectClient(t, 'romeo@localhost', { resource: 'home', password });
    await home.send(xml('presence'));
    const juliet = await server.connectClient(t, 'juliet');
    await juliet.send(xml('presence'));
    // Received: juliet writes to romeo's other resource.
    await juliet.send(chat('romeo@localhost/home', 'r1', 'What man art thou?'));
    const received = await slix.waitFor((e: SlixEvent) => (e as { event: string }).event === 'carbon_received', 5000, 'carbon_received') as unknown as Record<string, string>;
    assert.equal(received['from'], 'romeo@localhost');
    assert.equal(received['to'], 'romeo@localhost/garden');
    assert.equal(received['inner_from'], String(juliet.jid));
    assert.equal(received['body'], 'What man art thou?');
    // Sent: romeo's other resource writes to juliet.
    await home.send(chat('juliet@localhost', 's1', 'Neither, fair saint'));
    const sent = await slix.waitFor((e: SlixEvent) => (e as { event: string }).event === 'carbon_sent', 5000, 'carbon_sent') as unknown as Record<string, string>;
    assert.equal(sent['from'], 'romeo@localhost');
    assert.equal(sent['inner_from'], 'romeo@localhost/home');
    assert.equal(sent['inner_to'], 'juliet@localhost');
    assert.equal(sent['body'], 'Neither, fair saint');
    await juliet.waitFor(original('s1'));
  });
});
