// End-to-end tests of the server's delivery rules: RFC 6121 §8.5 (local accounts: no such user,
// bare JID with and without available resources, full JID with and without a matching resource),
// RFC 6120 §10.3 (no 'to'), §8.2.3/§8.3.1 (exactly one IQ reply, never an error to an error) and
// the priority semantics of RFC 6121 §4.7.2.3, against the real server process over real sockets.
// One server for the whole file; every stanza carries its own id, so each check looks only at its
// own traffic, and every "nobody else" check is a single 300 ms window over all clients at once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './harness/server.ts';
import { xml, type Element, type TestClient } from './harness/client.ts';

const D = 'localhost';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_DELAY = 'urn:xmpp:delay';
/** How long "nothing arrives" is watched. */
const QUIET = 300;

const ALICE = `alice@${D}`;
const ERIN = `erin@${D}`;
const NOBODY = `nobody@${D}`;

let seq = 0;
/** A fresh stanza id, so every check sees only its own stanza. */
const nextId = (tag: string): string => `${tag}-${++seq}`;

const withId = (name: string, id: string) => (e: Element): boolean => e.is(name) && e.attrs['id'] === id;
const errorWithId = (name: string, id: string) => (e: Element): boolean => withId(name, id)(e) && e.attrs['type'] === 'error';

/** The defined condition of a stanza error (RFC 6120 §8.3.3). */
function conditionOf(e: Element): string | undefined {
  return e
    .getChild('error')
    ?.getChildElements()
    .find((c: Element) => c.attrs['xmlns'] === NS_STANZAS && c.name !== 'text')?.name;
}

function msg(to: string | undefined, id: string, type?: string, body = 'hello'): Element {
  return xml('message', { to, id, type }, xml('body', {}, body));
}

function presenceWithPriority(priority: number): Element {
  return xml('presence', {}, xml('priority', {}, String(priority)));
}

describe('stanza delivery (RFC 6121 §8.5, RFC 6120 §10)', () => {
  let server: TestServer;
  /** alice's resources: two at priority 5, one at 1, one at -1, and one bound but never available. */
  let hi: TestClient;
  let hi2: TestClient;
  let lo: TestClient;
  let neg: TestClient;
  let quiet: TestClient;
  let bob: TestClient;
  let aliceAll: TestClient[];
  let everyone: TestClient[];

  /** Sends available presence and waits for the server's reflection of it (the broadcast to self). */
  async function goAvailable(c: TestClient, priority: number): Promise<void> {
    await c.send(presenceWithPriority(priority));
    await c.waitFor(
      (e) => e.is('presence') && e.attrs['from'] === String(c.jid) && e.attrs['type'] === undefined && e.getChildText('priority') === String(priority),
      5000,
      `own presence at priority ${priority}`,
    );
  }

  /**
   * Waits until each of `expected` has received the stanza with this id and checks that no other
   * client gets it within the quiet window. Returns the copies, in the order of `expected`.
   */
  async function deliveredTo(name: string, id: string, expected: TestClient[], pool: TestClient[] = everyone): Promise<Element[]> {
    const got = await Promise.all(expected.map((c) => c.waitFor(withId(name, id), 5000, `${name} ${id} at ${String(c.jid)}`)));
    await Promise.all(pool.filter((c) => !expected.includes(c)).map((c) => c.expectNone(withId(name, id), QUIET, `no ${name} ${id} at ${String(c.jid)}`)));
    return got;
  }

  /** The stanza reaches nobody (the sender included: no error comes back either). */
  async function reachesNobody(name: string, id: string): Promise<void> {
    await deliveredTo(name, id, []);
  }

  /** The sender gets exactly one error of this condition for `id`, correctly addressed; nobody else sees the stanza. */
  async function bounced(sender: TestClient, name: string, id: string, condition: string, erroredAt: string): Promise<Element> {
    const err = await sender.waitFor(errorWithId(name, id), 5000, `${name} error ${id}`);
    assert.equal(conditionOf(err), condition, err.toString());
    assert.equal(err.getChild('error')?.attrs['type'], 'cancel', err.toString());
    // RFC 6120 §8.3.1: the error comes from the address the stanza was sent to, to its sender.
    assert.equal(err.attrs['from'], erroredAt, err.toString());
    assert.equal(err.attrs['to'], String(sender.jid), err.toString());
    await Promise.all(everyone.map((c) => c.expectNone(withId(name, id), QUIET, `nothing more for ${id} at ${String(c.jid)}`)));
    return err;
  }

  before(async () => {
    server = await startServer({
      users: [
        ['alice', 'alice-pw-1'],
        ['bob', 'bob-pw-2'],
        ['erin', 'erin-pw-3'],
      ],
    });
    const as = (user: string, resource: string) => server.connectClient(undefined, user, { resource });
    [hi, hi2, lo, neg, quiet, bob] = await Promise.all([as('alice', 'hi'), as('alice', 'hi2'), as('alice', 'lo'), as('alice', 'neg'), as('alice', 'quiet'), as('bob', 'desk')]);
    await goAvailable(hi, 5);
    await goAvailable(hi2, 5);
    await goAvailable(lo, 1);
    await goAvailable(neg, -1);
    await goAvailable(bob, 0);
    aliceAll = [hi, hi2, lo, neg, quiet];
    everyone = [...aliceAll, bob];
    for (const c of everyone) c.clear();
  });

  after(async () => {
    await Promise.all((everyone ?? []).map((c) => c.close()));
    await server?.stop({ remove: true });
  });

  describe('§8.5.2.1.1: a message to a bare JID with available resources', () => {
    it('chat goes to the most available resources only (all sharing the highest priority), "to" not rewritten', async () => {
      const id = nextId('chat-bare');
      await bob.send(msg(ALICE, id, 'chat'));
      const copies = await deliveredTo('message', id, [hi, hi2]);
      for (const c of copies) {
        assert.equal(c.attrs['to'], ALICE, 'MUST NOT rewrite the to attribute');
        assert.equal(c.attrs['from'], String(bob.jid));
        assert.equal(c.getChildText('body'), 'hello');
      }
    });

    it('normal (no type, or a type the server does not know: RFC 6121 §5.2.2) goes where chat goes', async () => {
      const id = nextId('normal-bare');
      await bob.send(msg(ALICE, id));
      await deliveredTo('message', id, [hi, hi2]);
      const odd = nextId('oddtype-bare');
      await bob.send(msg(ALICE, odd, 'shout'));
      await deliveredTo('message', odd, [hi, hi2]);
    });

    it('headline goes to every non-negative available resource, never to negative or unavailable ones', async () => {
      const id = nextId('headline-bare');
      await bob.send(msg(ALICE, id, 'headline'));
      await deliveredTo('message', id, [hi, hi2, lo]);
    });

    it('groupchat is delivered to no resource; the sender gets <service-unavailable/>', async () => {
      const id = nextId('groupchat-bare');
      await bob.send(msg(ALICE, id, 'groupchat'));
      const err = await bounced(bob, 'message', id, 'service-unavailable', ALICE);
      assert.equal(err.getChildText('body'), 'hello', 'the error carries the original payload');
    });

    it('error is silently ignored: no resource gets it, and nothing is sent back', async () => {
      const id = nextId('error-bare');
      await bob.send(xml('message', { to: ALICE, id, type: 'error' }, xml('error', { type: 'cancel' }, xml('item-not-found', { xmlns: NS_STANZAS }))));
      await reachesNobody('message', id);
    });

    it('a priority change moves bare-JID messages to the new most available resource', async () => {
      await goAvailable(lo, 10);
      try {
        const id = nextId('chat-after-priority');
        await bob.send(msg(ALICE, id, 'chat'));
        await deliveredTo('message', id, [lo]);
      } finally {
        await goAvailable(lo, 1);
      }
      const id = nextId('chat-priority-back');
      await bob.send(msg(ALICE, id, 'chat'));
      await deliveredTo('message', id, [hi, hi2]);
    });
  });

  describe('§8.5.2.2 and §4.7.2.3: no non-negative resource', () => {
    it('only a negative-priority resource: chat and normal wait offline (no error), headline is dropped, groupchat bounces; full-JID messages still arrive', async (t) => {
      const erin = await server.connectClient(t, 'erin', { resource: 'neg' });
      await goAvailable(erin, -1);
      const pool = [erin, bob];
      const chat = nextId('erin-chat');
      const normal = nextId('erin-normal');
      const headline = nextId('erin-headline');
      await bob.send(msg(ERIN, chat, 'chat', 'kept for later'));
      await bob.send(msg(ERIN, normal, undefined, 'kept too'));
      await bob.send(msg(ERIN, headline, 'headline'));
      await Promise.all([deliveredTo('message', chat, [], pool), deliveredTo('message', normal, [], pool), deliveredTo('message', headline, [], pool)]);
      const group = nextId('erin-groupchat');
      await bob.send(msg(ERIN, group, 'groupchat'));
      await bob.waitFor(errorWithId('message', group), 5000, 'groupchat error').then((e) => assert.equal(conditionOf(e), 'service-unavailable'));

      // §8.5.3.1: a full JID reaches its resource whatever the priority.
      const direct = nextId('erin-full');
      await bob.send(msg(String(erin.jid), direct, 'chat'));
      await deliveredTo('message', direct, [erin], pool);

      // Raising the priority makes the resource eligible: the offline messages arrive, stamped.
      await goAvailable(erin, 0);
      const [c, n] = await Promise.all([erin.waitFor(withId('message', chat), 5000, 'stored chat'), erin.waitFor(withId('message', normal), 5000, 'stored normal')]);
      assert.ok(c.getChild('delay', NS_DELAY) && n.getChild('delay', NS_DELAY), 'offline copies carry a XEP-0203 stamp');
      await erin.expectNone(withId('message', headline), QUIET, 'the headline was never stored');
    });
  });

  describe('§8.5.3.1: a full JID whose resource is connected', () => {
    for (const type of ['chat', undefined, 'headline', 'groupchat', 'error'] as const) {
      it(`${type ?? 'normal'} messages reach exactly that resource, even at negative priority`, async () => {
        const id = nextId(`full-${type ?? 'normal'}`);
        await bob.send(msg(String(neg.jid), id, type));
        const [copy] = await deliveredTo('message', id, [neg]);
        assert.equal(copy?.attrs['to'], String(neg.jid));
      });
    }

    it('a resource that is bound but never sent presence still gets what is sent to its full JID, and nothing sent to the bare JID', async () => {
      const id = nextId('full-quiet');
      await bob.send(msg(String(quiet.jid), id, 'chat'));
      await deliveredTo('message', id, [quiet]);
    });
  });

  describe('§8.5.3.2.1: a message to a full JID with no such resource', () => {
    const gone = `${ALICE}/gone`;

    it('chat is handled as if sent to the bare JID (most available resources), "to" left as sent', async () => {
      const id = nextId('gone-chat');
      await bob.send(msg(gone, id, 'chat'));
      const copies = await deliveredTo('message', id, [hi, hi2]);
      for (const c of copies) assert.equal(c.attrs['to'], gone);
    });

    it('normal is not delivered to another resource: the sender gets <service-unavailable/>', async () => {
      const id = nextId('gone-normal');
      await bob.send(msg(gone, id));
      await bounced(bob, 'message', id, 'service-unavailable', gone);
    });

    it('groupchat: <service-unavailable/>', async () => {
      const id = nextId('gone-groupchat');
      await bob.send(msg(gone, id, 'groupchat'));
      await bounced(bob, 'message', id, 'service-unavailable', gone);
    });

    it('headline and error are silently ignored', async () => {
      const h = nextId('gone-headline');
      const e = nextId('gone-error');
      await bob.send(msg(gone, h, 'headline'));
      await bob.send(msg(gone, e, 'error'));
      await Promise.all([reachesNobody('message', h), reachesNobody('message', e)]);
    });
  });

  describe('presence (§8.5.2.1.2, §8.5.3)', () => {
    it('directed presence to the bare JID reaches every available resource, negative priority included, not the unavailable one', async () => {
      const id = nextId('pres-bare');
      await bob.send(xml('presence', { to: ALICE, id }));
      await deliveredTo('presence', id, [hi, hi2, lo, neg]);
      const off = nextId('pres-bare-off');
      await bob.send(xml('presence', { to: ALICE, id: off, type: 'unavailable' }));
      await deliveredTo('presence', off, [hi, hi2, lo, neg]);
    });

    it('a presence error to the bare JID reaches the available resources (as in Prosody)', async () => {
      const id = nextId('pres-error');
      await bob.send(xml('presence', { to: ALICE, id, type: 'error' }, xml('error', { type: 'cancel' }, xml('service-unavailable', { xmlns: NS_STANZAS }))));
      await deliveredTo('presence', id, [hi, hi2, lo, neg]);
    });

    it('directed presence to a full JID reaches only that resource', async () => {
      const id = nextId('pres-full');
      await bob.send(xml('presence', { to: String(lo.jid), id }));
      await deliveredTo('presence', id, [lo]);
      const off = nextId('pres-full-off');
      await bob.send(xml('presence', { to: String(lo.jid), id: off, type: 'unavailable' }));
      await deliveredTo('presence', off, [lo]);
    });

    it('§8.5.3.2.2: presence to a resource that does not exist is silently ignored (every type)', async () => {
      const [a, u, e] = [nextId('pres-gone'), nextId('pres-gone-off'), nextId('pres-gone-err')];
      await bob.send(xml('presence', { to: `${ALICE}/gone`, id: a }));
      await bob.send(xml('presence', { to: `${ALICE}/gone`, id: u, type: 'unavailable' }));
      await bob.send(xml('presence', { to: `${ALICE}/gone`, id: e, type: 'error' }, xml('error', { type: 'cancel' }, xml('gone', { xmlns: NS_STANZAS }))));
      await Promise.all([a, u, e].map((id) => reachesNobody('presence', id)));
    });

    it('§8.5.3.1 / §4.3: a probe to a full JID is the server\'s to answer, never shown to the resource', async () => {
      const id = nextId('probe-full');
      await bob.send(xml('presence', { to: String(hi.jid), id, type: 'probe' }));
      // bob has no subscription to alice: the server answers nothing, and no resource sees the probe.
      await Promise.all(aliceAll.map((c) => c.expectNone((e) => e.is('presence') && e.attrs['type'] === 'probe', QUIET, 'a probe')));
      await bob.expectNone(withId('presence', id), 0, 'an answer to the probe');
    });
  });

  describe('IQ (§8.5.2.1.3, §8.5.3, RFC 6120 §8.2.3)', () => {
    it('a get to the bare JID is answered by the server for the account and never reaches a resource', async () => {
      const id = nextId('iq-bare-disco');
      await bob.send(xml('iq', { to: ALICE, id, type: 'get' }, xml('query', { xmlns: NS_DISCO_INFO })));
      const reply = await bob.waitFor(withId('iq', id), 5000, 'disco#info result');
      assert.equal(reply.attrs['type'], 'result', reply.toString());
      assert.equal(reply.attrs['from'], ALICE);
      await Promise.all(aliceAll.map((c) => c.expectNone(withId('iq', id), QUIET, 'the iq at a resource')));
    });

    it('a get to the bare JID that nothing handles: <service-unavailable/> from the bare JID', async () => {
      const id = nextId('iq-bare-unknown');
      await bob.send(xml('iq', { to: ALICE, id, type: 'get' }, xml('query', { xmlns: 'urn:example:nothing' })));
      const err = await bounced(bob, 'iq', id, 'service-unavailable', ALICE);
      assert.equal(err.getChildElements().filter((c: Element) => c.name === 'query').length, 1, 'the request payload is returned');
    });

    it('results and errors to the bare JID are consumed: never delivered, never answered', async () => {
      const r = nextId('iq-bare-result');
      const e = nextId('iq-bare-error');
      await bob.send(xml('iq', { to: ALICE, id: r, type: 'result' }));
      await bob.send(xml('iq', { to: ALICE, id: e, type: 'error' }, xml('error', { type: 'cancel' }, xml('service-unavailable', { xmlns: NS_STANZAS }))));
      await Promise.all([reachesNobody('iq', r), reachesNobody('iq', e)]);
    });

    it('a get to a connected full JID reaches only that resource, and its answer is routed back', async () => {
      const id = nextId('iq-full');
      // The client (xmpp.js) answers requests it has no handler for with <service-unavailable/>.
      await bob.send(xml('iq', { to: String(lo.jid), id, type: 'get' }, xml('query', { xmlns: 'urn:example:client-only' })));
      await deliveredTo('iq', id, [lo], aliceAll);
      const answer = await bob.waitFor(errorWithId('iq', id), 5000, 'the client answer');
      assert.equal(answer.attrs['from'], String(lo.jid));
      assert.equal(conditionOf(answer), 'service-unavailable');
    });

    it('§8.5.3.1: a result or an error to a connected full JID is delivered to it', async () => {
      const r = nextId('iq-full-result');
      const e = nextId('iq-full-error');
      await bob.send(xml('iq', { to: String(neg.jid), id: r, type: 'result' }));
      await bob.send(xml('iq', { to: String(neg.jid), id: e, type: 'error' }, xml('error', { type: 'cancel' }, xml('item-not-found', { xmlns: NS_STANZAS }))));
      await Promise.all([deliveredTo('iq', r, [neg]), deliveredTo('iq', e, [neg])]);
    });

    it('§8.5.3.2.3: a get to a resource that does not exist: <service-unavailable/>; results and errors are dropped', async () => {
      const gone = `${ALICE}/gone`;
      const g = nextId('iq-gone-get');
      await bob.send(xml('iq', { to: gone, id: g, type: 'set' }, xml('query', { xmlns: 'urn:example:x' })));
      await bounced(bob, 'iq', g, 'service-unavailable', gone);
      const r = nextId('iq-gone-result');
      const e = nextId('iq-gone-error');
      await bob.send(xml('iq', { to: gone, id: r, type: 'result' }));
      await bob.send(xml('iq', { to: gone, id: e, type: 'error' }, xml('error', { type: 'cancel' }, xml('item-not-found', { xmlns: NS_STANZAS }))));
      await Promise.all([reachesNobody('iq', r), reachesNobody('iq', e)]);
    });

    it('RFC 6120 §10.3.3: an IQ without "to" is handled for the sender\'s account, with one reply', async () => {
      const ok = nextId('iq-noto-disco');
      await lo.send(xml('iq', { id: ok, type: 'get' }, xml('query', { xmlns: NS_DISCO_INFO })));
      const reply = await lo.waitFor(withId('iq', ok), 5000, 'result');
      assert.equal(reply.attrs['type'], 'result', reply.toString());
      // RFC 6120 §8.1.2.1: from the server for the account: no 'from', or the bare JID.
      assert.ok(reply.attrs['from'] === undefined || reply.attrs['from'] === ALICE, reply.toString());
      const bad = nextId('iq-noto-unknown');
      await lo.send(xml('iq', { id: bad, type: 'get' }, xml('query', { xmlns: 'urn:example:nothing' })));
      const err = await lo.waitFor(errorWithId('iq', bad), 5000, 'error');
      assert.equal(conditionOf(err), 'service-unavailable');
      await Promise.all(everyone.map((c) => c.expectNone(withId('iq', ok), QUIET, 'a second reply')));
    });
  });

  describe('§8.5.1: no such user', () => {
    it('messages bounce with <service-unavailable/> (id kept, addresses swapped), except headlines and errors, which vanish', async () => {
      const chat = nextId('nobody-chat');
      const normal = nextId('nobody-normal');
      const full = nextId('nobody-full');
      await bob.send(msg(NOBODY, chat, 'chat'));
      await bob.send(msg(NOBODY, normal));
      await bob.send(msg(`${NOBODY}/res`, full, 'chat'));
      await bounced(bob, 'message', chat, 'service-unavailable', NOBODY);
      await bounced(bob, 'message', normal, 'service-unavailable', NOBODY);
      await bounced(bob, 'message', full, 'service-unavailable', `${NOBODY}/res`);
      const h = nextId('nobody-headline');
      const e = nextId('nobody-error');
      await bob.send(msg(NOBODY, h, 'headline'));
      await bob.send(msg(NOBODY, e, 'error'));
      await Promise.all([reachesNobody('message', h), reachesNobody('message', e)]);
    });

    it('IQ get/set: <service-unavailable/>; IQ results and errors: nothing (never an error to an error)', async () => {
      const g = nextId('nobody-iq');
      await bob.send(xml('iq', { to: NOBODY, id: g, type: 'get' }, xml('query', { xmlns: NS_DISCO_INFO })));
      await bounced(bob, 'iq', g, 'service-unavailable', NOBODY);
      const r = nextId('nobody-iq-result');
      const e = nextId('nobody-iq-error');
      await bob.send(xml('iq', { to: NOBODY, id: r, type: 'result' }));
      await bob.send(xml('iq', { to: `${NOBODY}/x`, id: e, type: 'error' }, xml('error', { type: 'cancel' }, xml('item-not-found', { xmlns: NS_STANZAS }))));
      await Promise.all([reachesNobody('iq', r), reachesNobody('iq', e)]);
    });

    it('presence of every type is silently ignored', async () => {
      const ids: string[] = [];
      for (const type of [undefined, 'unavailable', 'subscribe', 'probe', 'error']) {
        const id = nextId(`nobody-pres-${type ?? 'available'}`);
        ids.push(id);
        await bob.send(xml('presence', { to: NOBODY, id, type }));
      }
      await Promise.all(ids.map((id) => reachesNobody('presence', id)));
      await bob.expectNone((e) => e.is('presence') && e.attrs['from'] === NOBODY, 0, 'any presence from the nonexistent account');
    });
  });

  describe('RFC 6120 §10.3.1: a message without "to"', () => {
    it('is handled as sent to the sender\'s own bare JID: the most available resources, the sender included', async () => {
      const id = nextId('noto-message');
      await hi.send(msg(undefined, id, 'chat'));
      const copies = await deliveredTo('message', id, [hi, hi2]);
      for (const c of copies) {
        assert.equal(c.attrs['to'], ALICE);
        assert.equal(c.attrs['from'], String(hi.jid));
      }
    });
  });

  describe('remote domains (no federation yet)', () => {
    it('a message gets <remote-server-not-found/>; an error message gets nothing back', async () => {
      const id = nextId('remote-chat');
      await bob.send(msg('someone@remote.example', id, 'chat'));
      const err = await bob.waitFor(errorWithId('message', id), 5000, 'remote error');
      assert.equal(conditionOf(err), 'remote-server-not-found');
      assert.equal(err.attrs['from'], 'someone@remote.example');
      const e = nextId('remote-error');
      await bob.send(msg('someone@remote.example', e, 'error'));
      await reachesNobody('message', e);
    });
  });
});
