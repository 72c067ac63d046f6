// XEP-0401 end to end: an invite redeemed by in-band registration (register module, mode invite)
// over a raw stream: <preauth/> before XEP-0077 registration, single use, and a user's contact
// invite (users_can_invite_accounts) that makes inviter and invitee contacts of each other.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './harness/server.ts';
import { connectSecured } from './harness/raw.ts';
import { connectSlix, slixmppUnavailable } from './harness/slixmpp.ts';
import { until } from './harness/eventually.ts';

const LISTENERS = [{ type: 'c2s_starttls', port: 0, address: '127.0.0.1' }, { type: 'c2s_direct_tls', port: 0, address: '127.0.0.1' }, { type: 'http', port: 0, address: '127.0.0.1' }];

/** Presents the token and registers `user` on a fresh stream; resolves with the two replies. */
async function registerWithToken(server: TestServer, token: string, user: string, password: string): Promise<{ preauth: string; register: string }> {
  const { conn } = await connectSecured({ port: server.ports.c2s_starttls });
  try {
    await conn.send(`<iq type='set' id='pa'><preauth xmlns='urn:xmpp:pars:0' token='${token}'/></iq>`);
    const preauth = await conn.readUntil(/<iq[^>]*id=['"]pa['"](?:[^>]*\/>|[\s\S]*?<\/iq>)/);
    await conn.send(`<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>${user}</username><password>${password}</password></query></iq>`);
    const register = await conn.readUntil(/<iq[^>]*id=['"]reg['"](?:[^>]*\/>|[\s\S]*?<\/iq>)/);
    return { preauth: preauth.slice(preauth.lastIndexOf('<iq')), register: register.slice(register.lastIndexOf('<iq')) };
  } finally {
    conn.destroy();
  }
}

const tokenOf = (uri: string): string => /preauth=([A-Za-z0-9_-]+)/.exec(uri)?.[1] ?? '';

describe('XEP-0401 invites redeemed by in-band registration', { skip: slixmppUnavailable() }, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      modules: { invites: { users_can_invite_accounts: true }, register: { mode: 'invite' } },
      config: { listeners: LISTENERS },
      users: [['alice@localhost', 'pw-alice']],
    });
  });
  after(() => server.stop({ remove: true }));

  it('an account invite (jabberx invite) creates one account, once', async () => {
    const out = await server.cli(['invite', 'localhost']);
    assert.equal(out.code, 0, out.stderr);
    const token = tokenOf(out.stdout);
    const first = await registerWithToken(server, token, 'invited', 'Tulip-Harbor-2931');
    assert.match(first.preauth, /type=['"]result['"]/);
    assert.match(first.register, /type=['"]result['"]/, first.register);
    const login = await connectSlix(undefined, { jid: 'invited@localhost', password: 'Tulip-Harbor-2931', port: server.ports.c2s_starttls });
    await login.close();
    const again = await registerWithToken(server, token, 'second', 'Maple-Canyon-2931');
    assert.match(again.preauth, /<item-not-found /);
    assert.doesNotMatch((await server.cli(['list-users'])).stdout, /second@/);
  });

  it('a user\'s contact invite with ibr=y creates the account and makes both contacts of each other', async (t) => {
    const alice = await connectSlix(t, { jid: 'alice@localhost', password: 'pw-alice', port: server.ports.c2s_starttls });
    const r = await alice.adhocRun({ node: 'urn:xmpp:invite#invite' });
    const uri = [r.at(-1)?.form?.fields['uri']?.value].flat().join('');
    assert.match(uri, /^xmpp:alice@localhost\?roster;preauth=[A-Za-z0-9_-]{24};ibr=y$/);
    const reg = await registerWithToken(server, tokenOf(uri), 'friend', 'Cobalt-River-2931');
    assert.match(reg.register, /type=['"]result['"]/, reg.register);
    await until('alice and friend are contacts both ways', async () => {
      const item = (await alice.rosterGet()).items.find((i) => i.jid === 'friend@localhost');
      return item?.subscription === 'both';
    }, 10_000, 200);
    const friend = await connectSlix(t, { jid: 'friend@localhost', password: 'Cobalt-River-2931', port: server.ports.c2s_starttls });
    const item = (await friend.rosterGet()).items.find((i) => i.jid === 'alice@localhost');
    assert.equal(item?.subscription, 'both');
  });
});
