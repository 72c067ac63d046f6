// XEP-0054 vcard-temp end to end: a real server process and @xmpp/client over TLS.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../../../test/harness/server.ts';
import { xml, type Element } from '../../../test/harness/client.ts';
import { connectSlix, slixmppUnavailable } from '../../../test/harness/slixmpp.ts';

const NS = 'vcard-temp';

/** The condition of a rejected iqCaller call (xmpp.js StanzaError). */
function condition(e: unknown): string {
  return (e as { condition?: string }).condition ?? String(e);
}

describe('XEP-0054 vcard-temp', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: { disco: {}, vcard: { max_size: '4KiB' } } });
  });
  after(() => server.stop());

  it('§4: advertises vcard-temp on the server', async (t) => {
    const c = await server.connectClient(t, 'disco');
    const info = await c.iqGet(xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }), server.domain);
    assert.ok(info.getChildren('feature').some((f: Element) => f.attrs['var'] === NS));
  });

  it('§3.1: an account without a vCard gets an empty one', async (t) => {
    const c = await server.connectClient(t, 'newbie');
    const v = await c.iqGet(xml('vCard', { xmlns: NS }));
    assert.equal(v.name, 'vCard');
    assert.equal(v.children.length, 0);
  });

  it('§3.2/§3.3: set, read back by the owner (no "to" and own bare JID) and by another user', async (t) => {
    const juliet = await server.connectClient(t, 'juliet');
    const romeo = await server.connectClient(t, 'romeo');
    const card = xml('vCard', { xmlns: NS }, xml('FN', {}, 'Juliet Capulet'), xml('NICKNAME', {}, 'jc & co'), xml('PHOTO', {}, xml('TYPE', {}, 'image/png'), xml('BINVAL', {}, 'iVBORw0KGgo=')));
    await juliet.iqSet(card);

    const own = await juliet.iqGet(xml('vCard', { xmlns: NS }));
    assert.equal(own.getChildText('FN'), 'Juliet Capulet');
    assert.equal(own.getChildText('NICKNAME'), 'jc & co');
    assert.equal((await juliet.iqGet(xml('vCard', { xmlns: NS }), 'juliet@localhost')).getChildText('FN'), 'Juliet Capulet');

    const seen = await romeo.iqGet(xml('vCard', { xmlns: NS }), 'juliet@localhost');
    assert.equal(seen.getChildText('FN'), 'Juliet Capulet');
    assert.equal(seen.getChild('PHOTO')?.getChildText('BINVAL'), 'iVBORw0KGgo=');

    // A new set replaces the whole vCard (§3.2: no partial updates).
    await juliet.iqSet(xml('vCard', { xmlns: NS }, xml('FN', {}, 'J.')));
    const replaced = await romeo.iqGet(xml('vCard', { xmlns: NS }), 'juliet@localhost');
    assert.equal(replaced.getChildText('FN'), 'J.');
    assert.equal(replaced.getChild('NICKNAME'), undefined);
  });

  it('a second client implementation (slixmpp) reads and writes vCards', { skip: slixmppUnavailable() }, async (t) => {
    const password = await server.adduser('paris');
    const slix = await connectSlix(t, { jid: 'paris@localhost', password, port: server.ports.c2s_starttls });
    const set = await slix.iq("<iq type='set'><vCard xmlns='vcard-temp'><FN>Count Paris</FN></vCard></iq>");
    assert.equal(set.type, 'result');
    const own = await slix.iq("<iq type='get'><vCard xmlns='vcard-temp'/></iq>");
    assert.match(own.xml, /<FN>Count Paris<\/FN>/);
    const reader = await server.connectClient(t, 'reader');
    assert.equal((await reader.iqGet(xml('vCard', { xmlns: NS }), 'paris@localhost')).getChildText('FN'), 'Count Paris');
  });

  it('§3.2: nobody but the owner can change a vCard', async (t) => {
    const mallory = await server.connectClient(t, 'mallory');
    await server.adduser('victim');
    await assert.rejects(mallory.iqSet(xml('vCard', { xmlns: NS }, xml('FN', {}, 'pwned')), 'victim@localhost'), (e) => condition(e) === 'forbidden');
  });

  it('§3.3: another user without a vCard is an error, not an empty card', async (t) => {
    const c = await server.connectClient(t, 'asker');
    await server.adduser('blank');
    await assert.rejects(c.iqGet(xml('vCard', { xmlns: NS }), 'blank@localhost'), (e) => condition(e) === 'item-not-found');
  });

  it('refuses a vCard over max_size with not-acceptable, keeping the old one, while another user keeps working', async (t) => {
    const c = await server.connectClient(t, 'bigphoto');
    const other = await server.connectClient(t, 'neighbour');
    await c.iqSet(xml('vCard', { xmlns: NS }, xml('FN', {}, 'small')));
    const huge = xml('vCard', { xmlns: NS }, xml('PHOTO', {}, xml('BINVAL', {}, 'A'.repeat(5000))));
    // The refusal and another account's write at the same time: only the oversized one fails.
    const [refused, accepted] = await Promise.allSettled([c.iqSet(huge), other.iqSet(xml('vCard', { xmlns: NS }, xml('FN', {}, 'next door')))]);
    assert.equal(refused.status, 'rejected');
    assert.equal(condition(refused.status === 'rejected' ? refused.reason : undefined), 'not-acceptable');
    assert.equal(accepted.status, 'fulfilled');
    assert.equal((await c.iqGet(xml('vCard', { xmlns: NS }))).getChildText('FN'), 'small');
    // Both sessions go on: each reads the other's card.
    assert.equal((await c.iqGet(xml('vCard', { xmlns: NS }), 'neighbour@localhost')).getChildText('FN'), 'next door');
    assert.equal((await other.iqGet(xml('vCard', { xmlns: NS }), 'bigphoto@localhost')).getChildText('FN'), 'small');
  });
});
