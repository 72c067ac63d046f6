// XEP-0401 Easy User Onboarding and XEP-0379 Pre-Authenticated Roster Subscription: invites made
// with slixmpp's xep_0050 plugin and `jabberx invite`, their landing pages fetched over HTTP, a
// token-carrying subscription request (stock @xmpp/client) approved on the inviter's behalf,
// single use, expiry and purge, and deletion with the inviting account.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './harness/server.ts';
import { connectSlix, slixmppUnavailable, type AdhocResponse, type SlixClient } from './harness/slixmpp.ts';
import { xml } from './harness/client.ts';
import { until } from './harness/eventually.ts';

const NS_PARS = 'urn:xmpp:pars:0';
const HTTP = { type: 'http', port: 0, address: '127.0.0.1' };
const LISTENERS = [{ type: 'c2s_starttls', port: 0, address: '127.0.0.1' }, { type: 'c2s_direct_tls', port: 0, address: '127.0.0.1' }, HTTP];

const httpPort = (s: TestServer): number => (s.ports as unknown as Record<string, number>)['http'] ?? 0;

function resultField(r: AdhocResponse[], name: string): string {
  const v = r.at(-1)?.form?.fields[name]?.value;
  assert.ok(v !== undefined, `field ${name} in ${r.at(-1)?.xml ?? 'no response'}`);
  return [v].flat().join('\n');
}

async function fetchPage(url: string): Promise<{ status: number; body: string; csp: string | null }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text(), csp: res.headers.get('content-security-policy') };
}

describe('XEP-0401 invites and XEP-0379 pre-authenticated subscriptions', { skip: slixmppUnavailable() }, () => {
  let server: TestServer;
  let alice: SlixClient;
  before(async () => {
    server = await startServer({
      modules: { invites: {} },
      config: { listeners: LISTENERS, security: { admins: ['admin@localhost'] } },
      users: [['alice@localhost', 'pw-alice'], ['admin@localhost', 'pw-admin']],
    });
    alice = await connectSlix(undefined, { jid: 'alice@localhost', password: 'pw-alice', port: server.ports.c2s_starttls });
    // Available, so contact requests reach her client (RFC 6121 §3.1.3).
    await alice.sendPresence();
  });
  after(async () => {
    await alice.close();
    await server.stop({ remove: true });
  });

  /** A contact invite of alice's, made with slixmpp; its URI, page and token. */
  async function aliceInvites(): Promise<{ uri: string; page: string; token: string }> {
    const r = await alice.adhocRun({ node: 'urn:xmpp:invite#invite' });
    assert.equal(r.at(-1)?.status, 'completed', r.at(-1)?.xml ?? '');
    const uri = resultField(r, 'uri');
    const page = resultField(r, 'landing-url');
    const token = /preauth=([A-Za-z0-9_-]+)/.exec(uri)?.[1] ?? '';
    return { uri, page, token };
  }

  it('a user lists and runs urn:xmpp:invite#invite; admins alone see create-account', async (t) => {
    const listed = (await alice.adhocList()).commands.map((c) => c.node);
    assert.ok(listed.includes('urn:xmpp:invite#invite'));
    assert.ok(!listed.includes('urn:xmpp:invite#create-account'));
    const { uri, page, token } = await aliceInvites();
    // 144 random bits, base64url; no ibr=y: users_can_invite_accounts is off by default.
    assert.match(token, /^[A-Za-z0-9_-]{24}$/);
    assert.equal(uri, `xmpp:alice@localhost?roster;preauth=${token}`);
    assert.equal(page, `http://localhost:${httpPort(server)}/invite/${token}`);
    const admin = await connectSlix(t, { jid: 'admin@localhost', password: 'pw-admin', port: server.ports.c2s_starttls });
    assert.ok((await admin.adhocList()).commands.some((c) => c.node === 'urn:xmpp:invite#create-account'));
    const refused = await alice.adhocRun({ node: 'urn:xmpp:invite#create-account' });
    assert.equal(refused.at(-1)?.error, 'forbidden');
  });

  it('an admin makes an account invite (xmpp:host?register;preauth=…), optionally reserving a name', async (t) => {
    const admin = await connectSlix(t, { jid: 'admin@localhost', password: 'pw-admin', port: server.ports.c2s_starttls });
    const r = await admin.adhocRun({ node: 'urn:xmpp:invite#create-account', steps: [{ fields: { username: 'newcomer' } }] });
    assert.equal(r.at(-1)?.status, 'completed', r.at(-1)?.xml ?? '');
    assert.match(resultField(r, 'uri'), /^xmpp:localhost\?register;preauth=[A-Za-z0-9_-]{24}$/);
    assert.ok(Date.parse(resultField(r, 'expire')) > Date.now() + 6 * 86_400_000, 'valid for 7 days');
    const page = await fetchPage(resultField(r, 'landing-url'));
    assert.equal(page.status, 200);
    assert.match(page.body, /create an account on <strong>localhost<\/strong>/);
  });

  it('the landing page shows the invite, its link and clients per platform, with nothing loaded from elsewhere', async () => {
    const { uri, page } = await aliceInvites();
    const p = await fetchPage(page);
    assert.equal(p.status, 200);
    assert.match(p.body, /alice@localhost<\/strong> would like to add you as a contact/);
    assert.ok(p.body.includes(`href="${uri}"`), 'the xmpp: link');
    for (const client of ['Conversations', 'Cheogram', 'Monal', 'Siskin', 'Gajim', 'Dino', 'Converse.js']) assert.ok(p.body.includes(client), client);
    for (const platform of ['Android', 'iOS', 'Desktop', 'Web']) assert.ok(p.body.includes(platform), platform);
    assert.doesNotMatch(p.body, /<(img|script|link|iframe)\b|\ssrc=/i, 'no assets');
    assert.match(p.csp ?? '', /default-src 'none'/);
    assert.match(p.csp ?? '', /style-src 'sha256-/);
  });

  it('an unknown token gets a readable 404 page', async () => {
    const p = await fetchPage(`http://localhost:${httpPort(server)}/invite/AAAAAAAAAAAAAAAAAAAAAAAA`);
    assert.equal(p.status, 404);
    assert.match(p.body, /Invite not found/);
    assert.equal((await fetchPage(`http://localhost:${httpPort(server)}/invite/<script>`)).status, 404);
  });

  it('XEP-0379: a subscription request with the token is approved for the inviter, who asks back; the token is used up', async (t) => {
    const { token, page } = await aliceInvites();
    await server.adduser('bob');
    const bob = await server.connectClient(t, 'bob');
    await bob.send(xml('presence', {}));
    await bob.send(xml('presence', { to: 'alice@localhost', type: 'subscribe' }, xml('preauth', { xmlns: NS_PARS, token })));
    const approved = await bob.waitFor((s) => s.is('presence') && s.attrs['type'] === 'subscribed' && s.attrs['from'] === 'alice@localhost');
    assert.ok(approved);
    await bob.waitFor((s) => s.is('presence') && s.attrs['type'] === 'subscribe' && s.attrs['from'] === 'alice@localhost');
    const roster = await alice.rosterGet();
    const item = roster.items.find((i) => i.jid === 'bob@localhost');
    assert.equal(item?.subscription, 'from');
    assert.equal(item?.ask, 'subscribe');
    assert.equal((await fetchPage(page)).status, 404, 'used up');

    // The same token again (carol): an ordinary request, left to alice.
    await server.adduser('carol');
    const carol = await server.connectClient(t, 'carol');
    await carol.send(xml('presence', { to: 'alice@localhost', type: 'subscribe' }, xml('preauth', { xmlns: NS_PARS, token })));
    await alice.waitForStanza({ name: 'presence', from: 'carol@localhost', type: 'subscribe' }, 5000);
    await carol.expectNone((s) => s.is('presence') && s.attrs['type'] === 'subscribed', 2000, 'no approval for a used token');
  });

  it('a token of another user\'s invite approves nothing', async (t) => {
    const { token } = await aliceInvites();
    await server.adduser('dave');
    await server.adduser('erin');
    const dave = await server.connectClient(t, 'dave');
    await dave.send(xml('presence', { to: 'erin@localhost', type: 'subscribe' }, xml('preauth', { xmlns: NS_PARS, token })));
    await dave.expectNone((s) => s.is('presence') && s.attrs['type'] === 'subscribed', 2000, 'no approval by erin');
  });

  it('jabberx invite prints an account invite and its landing page (running server)', async () => {
    const r = await server.cli(['invite', 'localhost', '--expires', '1d']);
    assert.equal(r.code, 0, r.stderr);
    const [uri = '', page = ''] = r.stdout.split('\n');
    assert.match(uri, /^xmpp:localhost\?register;preauth=[A-Za-z0-9_-]{24}$/);
    assert.match(page, new RegExp(`^http://localhost:${httpPort(server)}/invite/[A-Za-z0-9_-]{24}$`));
    assert.equal((await fetchPage(page)).status, 200);
    const bad = await server.cli(['invite', 'localhost', '--expires', 'soon']);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /--expires: expected a period/);
  });

  it('an account\'s invites are deleted with it', async (t) => {
    await server.adduser('frank', 'pw-frank');
    const frank = await connectSlix(t, { jid: 'frank@localhost', password: 'pw-frank', port: server.ports.c2s_starttls });
    const r = await frank.adhocRun({ node: 'urn:xmpp:invite#invite' });
    const page = resultField(r, 'landing-url');
    assert.equal((await fetchPage(page)).status, 200);
    await frank.close();
    assert.equal((await server.cli(['deluser', 'frank@localhost'])).code, 0);
    assert.equal((await fetchPage(page)).status, 404);
  });
});

describe('invite expiry (invites.lifetime)', () => {
  it('an expired invite is no longer shown (404) and the retention engine deletes it', async (t) => {
    const server = await startServer({ modules: { invites: { lifetime: '2s' } }, config: { listeners: LISTENERS } });
    t.after(() => server.stop({ remove: true }));
    const r = await server.cli(['invite', 'localhost']);
    assert.equal(r.code, 0, r.stderr);
    const page = r.stdout.split('\n')[1] ?? '';
    assert.equal((await fetchPage(page)).status, 200);
    await until('the invite expired', async () => (await fetchPage(page)).status === 404, 10_000, 200);
    await until('the retention engine purged it', () => /"rule":"invites"[^\n]*"purged":1/.test(server.logs()), 10_000, 200);
  });
});
