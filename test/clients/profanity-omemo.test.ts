// Real OMEMO (XEP-0384, legacy 'eu.siacs.conversations.axolotl', libsignal) between two stock
// profanity clients through the server, typed as a person would: `/omemo gen` publishes the
// devicelist and bundle over PEP, `/omemo start` fetches the contact's, `/omemo trust` trusts the
// fingerprint the other one reads from its own screen. The message shows decrypted on bob's
// screen, reaches a third plain resource of bob encrypted, and its text is in no server file. The
// e2e-policy module is on: the OMEMO message passes, a plaintext one after `/omemo end` bounces.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { listFiles, startServer, type TestServer } from '../harness/server.ts';
import { xml, type Element, type TestClient } from '../harness/client.ts';
import { until } from '../harness/eventually.ts';
import { Profanity, profanityUnavailable } from '../harness/profanity.ts';
import { E2E_POLICY_TEXT } from '../../src/modules/e2e-policy/index.ts';
import { befriend, itemsQuery } from '../pep/helpers.ts';

const D = 'localhost';
const ALICE = `alice@${D}`;
const BOB = `bob@${D}`;
const AXOLOTL = 'eu.siacs.conversations.axolotl';
const DEVICELIST = `${AXOLOTL}.devicelist`;
const NS_CARBONS = 'urn:xmpp:carbons:2';
const SECRET = `OmemoMarker-${String(Date.now())}-secret`;
const PLAIN = `PlainMarker-${String(Date.now())}-refused`;

/** `/omemo fingerprint` shows the own one as 8 dash-separated groups of 8 hex digits. */
const OWN_FINGERPRINT = /Your OMEMO fingerprint: ([0-9a-f]{8}(?:-[0-9a-f]{8}){7})/;

/** The chat message as it reached a resource: itself or the one in a XEP-0280 carbon. */
function chatMessage(stanza: Element): Element | undefined {
  if (!stanza.is('message')) return undefined;
  const carbon = stanza.getChild('received', NS_CARBONS)?.getChild('forwarded', 'urn:xmpp:forward:0')?.getChild('message');
  const msg = carbon ?? stanza;
  return String(msg.attrs['from']).startsWith(`${ALICE}/`) && msg.attrs['type'] === 'chat' ? msg : undefined;
}

describe('OMEMO between two stock profanity clients, e2e-policy on (XEP-0384 over PEP)', { skip: profanityUnavailable() }, () => {
  let server: TestServer;
  let alice: Profanity;
  let bob: Profanity;
  /** Bob's third resource, plain @xmpp/client with carbons: what went over the wire. */
  let wire: TestClient;
  /** A user who is nobody's contact. */
  let carol: TestClient;
  const seen: Element[] = [];

  before(async () => {
    server = await startServer({
      users: [[ALICE, 'pw-alice-omemo-1'], [BOB, 'pw-bob-omemo-1'], [`carol@${D}`, 'pw-carol-omemo-1']],
      modules: { 'e2e-policy': { require_for_chat: true } },
    });
    // Contacts both ways, as their clients would have made them.
    const a = await server.connectClient(undefined, ALICE, { resource: 'setup' });
    wire = await server.connectClient(undefined, BOB, { resource: 'wire' });
    await a.send(xml('presence'));
    await wire.send(xml('presence'));
    await befriend(a, ALICE, wire, BOB);
    await a.close();
    await wire.iqSet(xml('enable', { xmlns: NS_CARBONS }));
    wire.xmpp.on('stanza', (s: Element) => void seen.push(s));
    carol = await server.connectClient(undefined, `carol@${D}`);
  });
  after(async () => {
    await Promise.all([alice?.close(), bob?.close(), wire?.close(), carol?.close()]);
    await server?.remove();
  });

  it('/omemo gen publishes devicelist and bundle with publish-options: open, a stranger reads them', { timeout: 30_000 }, async () => {
    const start = (jid: string, password: string): Promise<Profanity> =>
      Profanity.start(undefined, { jid, password, port: server.ports.c2s_starttls, debugLog: true });
    [alice, bob] = await Promise.all([start(ALICE, 'pw-alice-omemo-1'), start(BOB, 'pw-bob-omemo-1')]);
    await Promise.all([alice.connect(), bob.connect()]);
    for (const p of [alice, bob]) await p.type('/omemo gen');
    await Promise.all([alice, bob].map((p) => p.waitForText(/OMEMO crytographic materials generated/ /* sic */, 20_000)));

    // Carol is no contact: only an open node lets her read (presence access would refuse her).
    const devices = async (): Promise<string[]> => {
      const r = await carol.iqGet(itemsQuery(DEVICELIST), ALICE).catch(() => undefined);
      const list = r?.getChild('items')?.getChild('item')?.getChild('list', AXOLOTL);
      return list?.getChildren('device').map((d: Element) => String(d.attrs['id'])) ?? [];
    };
    await until('alice devicelist readable by a stranger', async () => (await devices()).length > 0, 10_000, 100);
    const [id] = await devices();
    const bundle = await carol.iqGet(itemsQuery(`${AXOLOTL}.bundles:${String(id)}`), ALICE);
    assert.ok(bundle.getChild('items')?.getChild('item')?.getChild('bundle', AXOLOTL)?.getChild('identityKey'));
    // As profanity logged it: the publish carried publish-options with access_model open.
    assert.match(alice.log(), /SENT: <iq[^\n]*<publish node="eu\.siacs\.conversations\.axolotl\.devicelist">[^\n]*<publish-options>[^\n]*pubsub#access_model[^\n]*<value>open<\/value>/);
  });

  it('alice /omemo start bob, trusts his fingerprint: bob reads her message decrypted; it went encrypted', { timeout: 30_000 }, async () => {
    const own = async (p: Profanity): Promise<string> => {
      await p.type('/omemo fingerprint');
      return OWN_FINGERPRINT.exec(await p.waitForText(OWN_FINGERPRINT))?.[1] ?? '';
    };
    const fingerprints = { alice: await own(alice), bob: await own(bob) };
    // Each starts the session, waits for the other's bundle (its fingerprint listed), then trusts it.
    const trust = async (p: Profanity, contact: string, fp: string): Promise<void> => {
      await p.type(`/omemo start ${contact}`);
      await until(`${contact}'s fingerprint known`, async () => {
        await p.type(`/omemo fingerprint ${contact}`);
        return (await p.screen()).includes(`${contact}'s OMEMO fingerprint: ${fp}`);
      }, 10_000, 300);
      await p.type(`/omemo trust ${contact} ${fp}`);
      await p.waitForText(`${contact}'s OMEMO fingerprint: ${fp} (trusted)`);
    };
    await Promise.all([trust(alice, BOB, fingerprints.bob), trust(bob, ALICE, fingerprints.alice)]);

    await alice.type(SECRET);
    await bob.openChat(ALICE);
    // '~' is profanity's mark of a message it decrypted with OMEMO.
    await bob.waitForText(new RegExp(`~ ${ALICE}/\\S+: ${SECRET}`));

    await until('the message at bob\'s plain resource', () => seen.some((s) => chatMessage(s)?.getChild('encrypted', AXOLOTL)), 10_000, 100);
    const msg = seen.map(chatMessage).find((m) => m?.getChild('encrypted', AXOLOTL)) as Element;
    const encrypted = msg.getChild('encrypted', AXOLOTL) as Element;
    assert.ok(encrypted.getChild('header')?.getChild('key') && encrypted.getChild('payload'));
    assert.ok(!msg.toString().includes(SECRET), 'the text travels only encrypted');
    assert.doesNotMatch(msg.getChildText('body') ?? '', /Marker/);
  });

  it('e2e-policy: after /omemo end, a plaintext message bounces with policy-violation, bob never gets it', { timeout: 30_000 }, async () => {
    await alice.type('/omemo end');
    await alice.type(PLAIN);
    // Profanity shows the error's text in the chat window; its log has the stanza.
    await alice.waitForText(`! Error from ${BOB}: ${E2E_POLICY_TEXT}`);
    assert.match(alice.log(), /RECV: <message[^\n]*type="error"[^\n]*<policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"\/>/);
    assert.ok(!(await bob.screen()).includes(PLAIN));
    assert.ok(!seen.some((s) => s.toString().includes(PLAIN)), 'the plaintext reached none of bob\'s resources');
  });

  it('the text is in no server file: database, WAL and logs (raw bytes)', async () => {
    await server.stop();
    const files = listFiles(server.dataDir).map((path) => ({ path, text: readFileSync(path).toString('latin1') }));
    assert.ok(files.length > 0);
    for (const f of files) for (const marker of [SECRET, PLAIN]) assert.ok(!f.text.includes(marker), `${marker} found in ${f.path}`);
  });
});
