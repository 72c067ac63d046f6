// XEP-0115 Entity Capabilities: the server's own caps in its stream features match the disco#info
// it serves; a client's caps are learnt with one query per 'ver', verified (§5.4) and cached.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './harness/server.ts';
import { rawLogin, type RawConnection } from './harness/raw.ts';
import { capsVer } from '../src/lib/caps-ver.ts';

const NS_CAPS = 'http://jabber.org/protocol/caps';
const NS_INFO = 'http://jabber.org/protocol/disco#info';
const NODE = 'https://example.org/client';
const FEATURES = [NS_CAPS, NS_INFO, 'urn:xmpp:avatar:metadata+notify', 'eu.siacs.conversations.axolotl.devicelist+notify'];
const IDENTITY = { category: 'client', type: 'phone', name: 'Test Client' };
const VER = capsVer([IDENTITY], FEATURES);

function discoAnswer(id: string, node: string, features: string[]): string {
  return `<iq type='result' id='${id}' to='localhost'><query xmlns='${NS_INFO}' node='${node}'><identity category='client' type='phone' name='Test Client'/>${features.map((f) => `<feature var='${f}'/>`).join('')}</query></iq>`;
}

/** Waits for the server's disco#info query about `ver`; returns its id. */
async function query(conn: RawConnection, ver: string): Promise<string> {
  const iq = await conn.readUntil(new RegExp(`<iq[^>]*type=['"]get['"][^>]*>\\s*<query[^>]*node=['"]${NODE}#${ver.replace(/[+/=]/g, (c) => `\\${c}`)}['"]`), 5000);
  return /<iq[^>]*id=['"]([^'"]+)['"]/.exec(iq.slice(iq.lastIndexOf('<iq')))?.[1] ?? '';
}

describe('XEP-0115 Entity Capabilities', () => {
  let server: TestServer;
  before(async () => {
    // XEP-0157 contact addresses: a XEP-0128 form the caps hash must cover (§5.1 step 6).
    server = await startServer({ config: { policy: { contact: 'admin@example.org', feedback_addresses: ['https://example.org/feedback', 'xmpp:feedback@example.org'] } } });
  });
  after(() => server.stop({ remove: true }));

  const login = async (user: string) => {
    const password = await server.adduser(user);
    return rawLogin({ port: server.ports.c2s_starttls, username: user, password, resource: 'phone' });
  };

  it("§6.3: the server's caps in its stream features hash its disco#info, which answers node#ver", async () => {
    const s = await login('features');
    const c = /<c [^>]*xmlns=['"]http:\/\/jabber.org\/protocol\/caps['"][^>]*\/>/.exec(s.featuresAfterAuth)?.[0] ?? '';
    const ver = /ver=['"]([^'"]+)['"]/.exec(c)?.[1] ?? '';
    const node = /node=['"]([^'"]+)['"]/.exec(c)?.[1] ?? '';
    assert.match(c, /hash=['"]sha-1['"]/);
    await s.conn.send(`<iq type='get' id='d1' to='localhost'><query xmlns='${NS_INFO}' node='${node}#${ver}'/></iq>`);
    const info = await s.conn.readUntil(/<\/iq>/);
    const features = [...info.matchAll(/<feature var=['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '');
    const identities = [...info.matchAll(/<identity category=['"]([^'"]+)['"] type=['"]([^'"]+)['"](?: name=['"]([^'"]+)['"])?/g)].map((m) => ({ category: m[1] ?? '', type: m[2] ?? '', name: m[3] }));
    assert.ok(features.includes(NS_CAPS));
    const forms = [...info.matchAll(/<x [^>]*xmlns=['"]jabber:x:data['"][^>]*>(.*?)<\/x>/gs)].map((x) => {
      const fields = [...(x[1] ?? '').matchAll(/<field [^>]*var=['"]([^'"]+)['"][^>]*>(.*?)<\/field>/gs)].map((f) => ({
        name: f[1] ?? '',
        values: [...(f[2] ?? '').matchAll(/<value>([^<]*)<\/value>/g)].map((v) => v[1] ?? ''),
      }));
      return { formType: fields.find((f) => f.name === 'FORM_TYPE')?.values[0] ?? '', fields: fields.filter((f) => f.name !== 'FORM_TYPE') };
    });
    assert.deepEqual(forms.map((f) => f.formType), ['http://jabber.org/network/serverinfo']);
    assert.equal(capsVer(identities, features, forms), ver);
    assert.notEqual(capsVer(identities, features), ver);
    s.conn.destroy();
  });

  it('§5.4: a new ver is asked about once, verified and cached; other clients of that kind are not asked', async () => {
    const a = await login('capsa');
    await a.conn.send(`<presence><c xmlns='${NS_CAPS}' hash='sha-1' node='${NODE}' ver='${VER}'/></presence>`);
    const id = await query(a.conn, VER);
    await a.conn.send(discoAnswer(id, `${NODE}#${VER}`, FEATURES));
    // A second client of the same kind: known already.
    const b = await login('capsb');
    await b.conn.send(`<presence><c xmlns='${NS_CAPS}' hash='sha-1' node='${NODE}' ver='${VER}'/></presence><iq type='get' id='barrier' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
    await b.conn.readUntil(/id=['"]barrier['"]/);
    assert.doesNotMatch(b.conn.text, /disco#info/);
    a.conn.destroy();
    b.conn.destroy();
  });

  it('§5.4: an answer that does not hash to the announced ver is not cached (no poisoning)', async () => {
    const bogus = capsVer([IDENTITY], [...FEATURES, 'urn:example:other']);
    const liar = await login('capsliar');
    await liar.conn.send(`<presence><c xmlns='${NS_CAPS}' hash='sha-1' node='${NODE}' ver='${bogus}'/></presence>`);
    const id = await query(liar.conn, bogus);
    await liar.conn.send(discoAnswer(id, `${NODE}#${bogus}`, FEATURES));
    await liar.conn.send(`<iq type='get' id='barrier' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
    await liar.conn.readUntil(/id=['"]barrier['"]/);
    // The next client announcing it is asked again.
    const next = await login('capsnext');
    await next.conn.send(`<presence><c xmlns='${NS_CAPS}' hash='sha-1' node='${NODE}' ver='${bogus}'/></presence>`);
    await query(next.conn, bogus);
    liar.conn.destroy();
    next.conn.destroy();
  });
});
