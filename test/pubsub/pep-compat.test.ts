// XEP-0398 (PEP avatar <-> vCard photo) and XEP-0402 §5.3 (XEP-0048 private-storage bookmarks <->
// bookmarks2 PEP items), with slixmpp's stock xep_0084, xep_0153/xep_0054 and xep_0048 plugins on
// one side and @xmpp/client sending what Conversations sends on the other.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startServer, type TestServer } from '../harness/server.ts';
import { xml, type Element } from '../harness/client.ts';
import { slixmppUnavailable, type SlixClient } from '../harness/slixmpp.ts';
import { eventually } from '../harness/eventually.ts';
import { closeClients, slixUser } from './helpers.ts';

const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
const NS_BOOKMARKS2 = 'urn:xmpp:bookmarks:1';
/** A 1x1 PNG. */
const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
/** A PNG header saying 2x3 pixels: enough for a client and for the metadata's width and height. */
const PNG_2X3 = Buffer.concat([PNG_1X1.subarray(0, 16), Buffer.from([0, 0, 0, 2, 0, 0, 0, 3]), PNG_1X1.subarray(24)]);
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

type Reply = Record<string, unknown> & { error?: string; xml: string };

/** A command of test/interop/slix_driver.py, its reply typed for these tests. */
async function cmd(client: SlixClient, name: string, args: Record<string, unknown>): Promise<Reply> {
  return (await client.command(name, args)) as unknown as Reply;
}

describe('XEP-0398 avatar conversion and XEP-0048/XEP-0402 bookmarks compatibility', { skip: slixmppUnavailable() }, () => {
  let server: TestServer;
  before(async () => {
    // An install from before PEP: XEP-0048 bookmarks in private storage only (what Gajim sends),
    // and a vCard photo.
    const before = await startServer({ modules: { disco: {}, roster: {}, private: {}, vcard: {} } });
    const gajim = await before.connectClient(undefined, 'upgrader');
    await gajim.iqSet(xml('vCard', { xmlns: 'vcard-temp' }, xml('PHOTO', {}, xml('TYPE', {}, 'image/png'), xml('BINVAL', {}, PNG_1X1.toString('base64')))));
    await gajim.iqSet(
      xml('query', { xmlns: 'jabber:iq:private' }, xml('storage', { xmlns: 'storage:bookmarks' }, xml('conference', { jid: 'old@conference.localhost', name: 'Old room', autojoin: '1' }, xml('nick', {}, 'U')))),
    );
    await gajim.close();
    await before.stop();
    server = await startServer({ root: before.root, modules: { disco: {}, roster: {}, caps: {}, vcard: {}, private: {}, pep: {} } });
    server.passwords.set('upgrader@localhost', before.passwords.get('upgrader@localhost') ?? '');
  });
  after(async () => {
    await closeClients();
    await server.remove();
  });

  it('the account advertises both conversions (XEP-0398 §2, XEP-0402 §5.3)', async (t) => {
    const c = await server.connectClient(t, 'disco');
    const info = await c.iqGet(xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }), 'disco@localhost');
    const features = info.getChildren('feature').map((f: Element) => f.attrs['var']);
    assert.ok(features.includes('urn:xmpp:pep-vcard-conversion:0'));
    assert.ok(features.includes('urn:xmpp:bookmarks:1#compat'));
  });

  it('§3.1: a PEP avatar (xep_0084) becomes the vCard PHOTO; presence carries its hash (§4); a stranger does not see it', async (t) => {
    const modern = await slixUser(undefined, server, 'modern');
    const published = (await cmd(modern, 'avatar_publish_pep', { data: PNG_1X1.toString('base64'), type: 'image/png' }));
    assert.equal(published.error, undefined, published.xml);
    assert.equal(published['avatar'], sha1(PNG_1X1));

    const own = (await cmd(modern, 'vcard_photo', { jid: 'modern@localhost' }));
    assert.equal(own['sha1'], sha1(PNG_1X1));
    assert.equal(own['type'], 'image/png');
    // The avatar node has PEP's default presence access: its vCard copy keeps it from strangers.
    const stranger = await slixUser(t, server, 'stranger');
    const seen = (await cmd(stranger, 'vcard_photo', { jid: 'modern@localhost' }));
    assert.equal(seen['sha1'], '');

    // Another resource of the account sees the presence the server stamped.
    const other = await server.connectClient(t, 'modern');
    await other.send(xml('presence'));
    await modern.sendPresence({ status: 'with avatar' });
    const presence = await other.waitFor((e) => e.is('presence') && e.attrs['from'] === modern.jid && e.getChildText('status') === 'with avatar', 10_000);
    assert.equal(presence.getChild('x', 'vcard-temp:x:update')?.getChildText('photo'), sha1(PNG_1X1));

    // §4.6 of XEP-0084: stopping the avatar removes the vCard PHOTO.
    assert.equal(((await cmd(modern, 'avatar_stop_pep', {}))).error, undefined);
    await eventually(async () => ((await cmd(modern, 'vcard_photo', { jid: 'modern@localhost' })))['sha1'], '', 'the vCard photo removed');
  });

  it('§3.2: a vCard PHOTO (xep_0153) becomes the PEP avatar, data then metadata; a vCard without it removes it', async () => {
    const legacy = await slixUser(undefined, server, 'legacy');
    const set = (await cmd(legacy, 'avatar_set_vcard', { data: PNG_2X3.toString('base64'), type: 'image/png' }));
    assert.equal(set.error, undefined, set.xml);
    const avatar = (await cmd(legacy, 'avatar_get_pep', { jid: 'legacy@localhost' }));
    assert.equal(avatar.error, undefined, avatar.xml);
    const infos = avatar['infos'] as Record<string, string>[];
    assert.deepEqual(infos, [{ id: sha1(PNG_2X3), type: 'image/png', bytes: String(PNG_2X3.length), width: '2', height: '3' }]);
    assert.equal(avatar['sha1'], sha1(PNG_2X3));

    const cleared = (await cmd(legacy, 'iq', { xml: "<iq type='set'><vCard xmlns='vcard-temp'><FN>No photo</FN></vCard></iq>" }));
    assert.equal(cleared['type'], 'result');
    const after = (await cmd(legacy, 'avatar_get_pep', { jid: 'legacy@localhost' }));
    assert.deepEqual(after['infos'], []);
  });

  it('bookmarks and a vCard photo kept before PEP reach PEP clients at the next login', async (t) => {
    const c = await server.connectClient(t, 'upgrader');
    const ids = async () => {
      const items = await c.iqGet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node: NS_BOOKMARKS2 }))).catch(() => undefined);
      return items?.getChild('items')?.getChildren('item').map((i: Element) => i.attrs['id']) ?? [];
    };
    await eventually(ids, ['old@conference.localhost'], 'the old bookmark in PEP');
    const avatarId = async () => {
      const items = await c.iqGet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node: 'urn:xmpp:avatar:metadata' }))).catch(() => undefined);
      return items?.getChild('items')?.getChild('item')?.attrs['id'];
    };
    await eventually(avatarId, sha1(PNG_1X1), 'the old vCard photo as PEP avatar');
  });

  it('XEP-0048 bookmarks in private storage (xep_0048) are bookmarks2 items, and the other way round', async (t) => {
    const old = await slixUser(undefined, server, 'bookworm');
    const stored = (await cmd(old, 'bookmarks_set_private', {
      conferences: [
        { jid: 'play@conference.localhost', nick: 'Hamlet', name: 'The Play', autojoin: true, password: 'secret' },
        { jid: 'garden@conference.localhost', nick: 'H', name: 'Garden' },
      ],
      urls: [{ url: 'https://example.org/', name: 'Example' }],
    }));
    assert.equal(stored.error, undefined, stored.xml);

    // A bookmarks2 client (the stanza Conversations sends) reads the PEP node.
    const modern = await server.connectClient(t, 'bookworm');
    const items = await modern.iqGet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node: NS_BOOKMARKS2 })));
    const byId = new Map(items.getChild('items')?.getChildren('item').map((i: Element) => [i.attrs['id'], i.getChild('conference', NS_BOOKMARKS2)]));
    assert.deepEqual([...byId.keys()].sort(), ['garden@conference.localhost', 'play@conference.localhost']);
    const play = byId.get('play@conference.localhost');
    assert.equal(play?.attrs['name'], 'The Play');
    assert.equal(play?.attrs['autojoin'], 'true');
    assert.equal(play?.getChildText('nick'), 'Hamlet');
    assert.equal(play?.getChildText('password'), 'secret');
    // XEP-0402's node configuration: whitelist, so only the account reads it.
    const config = await modern.iqGet(xml('pubsub', { xmlns: `${NS_PUBSUB}#owner` }, xml('configure', { node: NS_BOOKMARKS2 })));
    const access = config.getChild('configure')?.getChild('x')?.getChildren('field').find((f: Element) => f.attrs['var'] === 'pubsub#access_model');
    assert.equal(access?.getChildText('value'), 'whitelist');

    // A bookmark added the XEP-0402 way shows in the XEP-0048 list, the URL kept.
    await modern.iqSet(
      xml(
        'pubsub',
        { xmlns: NS_PUBSUB },
        xml('publish', { node: NS_BOOKMARKS2 }, xml('item', { id: 'orchard@conference.localhost' }, xml('conference', { xmlns: NS_BOOKMARKS2, name: 'Orchard', autojoin: 'true' }, xml('nick', {}, 'JC')))),
        xml(
          'publish-options',
          {},
          xml(
            'x',
            { xmlns: 'jabber:x:data', type: 'submit' },
            xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, `${NS_PUBSUB}#publish-options`)),
            xml('field', { var: 'pubsub#persist_items' }, xml('value', {}, 'true')),
            xml('field', { var: 'pubsub#max_items' }, xml('value', {}, 'max')),
            xml('field', { var: 'pubsub#send_last_published_item' }, xml('value', {}, 'never')),
            xml('field', { var: 'pubsub#access_model' }, xml('value', {}, 'whitelist')),
          ),
        ),
      ),
    );
    const listed = (await cmd(old, 'bookmarks_get_private', {})) as Reply & { conferences: { jid: string; nick: string; autojoin: boolean }[]; urls: { url: string }[] };
    assert.deepEqual(listed.conferences.map((c) => c.jid).sort(), ['garden@conference.localhost', 'orchard@conference.localhost', 'play@conference.localhost']);
    assert.deepEqual(listed.conferences.find((c) => c.jid === 'orchard@conference.localhost'), { jid: 'orchard@conference.localhost', name: 'Orchard', nick: 'JC', autojoin: true, password: '' });
    assert.deepEqual(listed.urls.map((u) => u.url), ['https://example.org/']);

    // A shorter XEP-0048 list retracts what it no longer has.
    await old.command('bookmarks_set_private', { conferences: [{ jid: 'orchard@conference.localhost', nick: 'JC', name: 'Orchard', autojoin: true }] });
    const left = await modern.iqGet(xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node: NS_BOOKMARKS2 })));
    assert.deepEqual(left.getChild('items')?.getChildren('item').map((i: Element) => i.attrs['id']), ['orchard@conference.localhost']);
  });
});
