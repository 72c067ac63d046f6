// XEP-0484 FAST over real TLS sockets against the real server process, with the raw SASL2 client
// (test/harness/sasl2.ts): a token asked for with a password login, a one-round-trip login with
// it (HT-SHA-256 with and without channel binding), rotation, logout, revocation by the operator,
// by a password change and by account deletion, and nothing but hashes at rest.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { listFiles, startServer, type TestServer } from './harness/server.ts';
import { withStorage } from './harness/store.ts';
import { attrOf, bind2, NS2, sasl2Login, type Sasl2Options } from './harness/sasl2.ts';

const UA = '6f1c1b9e-3a52-4c4b-9c3e-2b7f1d2a0c11';
const DAY = 86_400_000;

interface Token {
  token: string;
  expiry: string;
}

describe('XEP-0484 FAST', () => {
  let server: TestServer;
  before(async () => {
    // Tokens older than 2 s are replaced at their next use (the default is a day).
    server = await startServer({ config: { fast: { rotate_after: '2s' } } });
  });
  after(() => server.stop({ remove: true }));

  // Each login from its own loopback address: the refusals tested here would otherwise add up to
  // the brute-force throttle's (tested in sasl2.test.ts), which would answer them instead.
  let address = 0;
  const login = async (opts: Omit<Sasl2Options, 'mechanism'> & { mechanism?: string }) => {
    const localAddress = `127.0.${String(2 + Math.floor(address / 250))}.${String(1 + (address++ % 250))}`;
    const r = await sasl2Login({ port: server.ports.c2s_starttls, localAddress, mechanism: 'SCRAM-SHA-256', userAgentId: UA, ...opts });
    r.conn.destroy();
    return r.result;
  };
  /** A password login that asks for a token for `mechanism`. */
  const tokenFor = async (username: string, password: string, mechanism: string, userAgentId = UA): Promise<Token> => {
    const r = await login({ username, password, userAgentId, inline: `<request-token xmlns='${NS2.FAST}' mechanism='${mechanism}'/>` });
    assert.ok(r.success, r.final);
    return { token: attrOf(r.final, 'token', 'token') ?? '', expiry: attrOf(r.final, 'token', 'expiry') ?? '' };
  };
  const withToken = (username: string, mechanism: string, token: string, extra: Partial<Sasl2Options> = {}) =>
    login({ username, mechanism, token, inline: `<fast xmlns='${NS2.FAST}'/>`, ...extra });

  it('§4.2: a password login with <request-token/> gets a token; §4.3: it logs in in one round trip, bound to the channel, and the server proves it knows the token', async () => {
    const password = await server.adduser('alice');
    const t = await tokenFor('alice', password, 'HT-SHA-256-EXPR');
    assert.ok(Buffer.byteLength(t.token) > 64);
    const expires = Date.parse(t.expiry);
    assert.ok(Math.abs(expires - (Date.now() + 21 * DAY)) < 60_000, `expiry ${t.expiry}: token_lifetime 21d`);
    const r = await withToken('alice', 'HT-SHA-256-EXPR', t.token, { inline: `<fast xmlns='${NS2.FAST}'/>${bind2('Fast')}` });
    assert.ok(r.success, r.final);
    assert.equal(r.transcript.length, 1, 'no challenge: one round trip');
    assert.equal(r.serverVerified, true, 'HMAC(token, "Responder" || cb-data) in <additional-data/>');
    assert.match(r.identity ?? '', /^alice@localhost\/Fast\//);
    assert.ok(!r.final.includes('<token'), 'a fresh token is not rotated');
  });

  it('§4.3: a token works only with its mechanism, its channel, its client and its account', async () => {
    const password = await server.adduser('bob');
    const expr = await tokenFor('bob', password, 'HT-SHA-256-EXPR');
    assert.equal((await withToken('bob', 'HT-SHA-256-NONE', expr.token)).condition, 'not-authorized', 'no downgrade to NONE');
    assert.equal((await withToken('bob', 'HT-SHA-256-EXPR', expr.token, { cbData: Buffer.alloc(32, 1) })).condition, 'not-authorized', 'another channel');
    assert.equal((await withToken('bob', 'HT-SHA-256-EXPR', expr.token, { userAgentId: '7d0e1c2b-0000-4000-8000-000000000009' })).condition, 'not-authorized', 'another client');
    await server.adduser('bobby');
    assert.equal((await withToken('bobby', 'HT-SHA-256-EXPR', expr.token)).condition, 'not-authorized', 'another account');
    assert.equal((await withToken('bob', 'HT-SHA-256-EXPR', 'x'.repeat(86))).condition, 'not-authorized', 'a made-up token');
    const endp = await tokenFor('bob', password, 'HT-SHA-256-ENDP');
    assert.ok((await withToken('bob', 'HT-SHA-256-ENDP', endp.token)).success, 'tls-server-end-point binding');
    const none = await tokenFor('bob', password, 'HT-SHA-256-NONE');
    assert.ok((await withToken('bob', 'HT-SHA-256-NONE', none.token)).success, 'no channel binding');
  });

  it('§4.3: with a count, each login must count higher (replays fail)', async () => {
    const password = await server.adduser('carl');
    const t = await tokenFor('carl', password, 'HT-SHA-256-NONE');
    const counted = (count: number) => withToken('carl', 'HT-SHA-256-NONE', t.token, { inline: `<fast xmlns='${NS2.FAST}' count='${count}'/>` });
    assert.ok((await counted(1)).success);
    assert.equal((await counted(1)).condition, 'not-authorized');
    assert.ok((await counted(2)).success);
  });

  it('§4.4 rotation: a token due for replacement brings a new one; once the new one is used the old one is refused', async () => {
    const password = await server.adduser('dana');
    const t1 = await tokenFor('dana', password, 'HT-SHA-256-NONE');
    await new Promise((r) => setTimeout(r, 2100));
    const first = await withToken('dana', 'HT-SHA-256-NONE', t1.token);
    assert.ok(first.success);
    const t2 = attrOf(first.final, 'token', 'token') ?? '';
    assert.ok(t2 && t2 !== t1.token, 'a new token in <success/>');
    assert.ok((await withToken('dana', 'HT-SHA-256-NONE', t2)).success);
    assert.equal((await withToken('dana', 'HT-SHA-256-NONE', t1.token)).condition, 'not-authorized', 'the old token is invalidated');
  });

  it('§4.5: a login with invalidate="true" (logging out) ends the token, and no new one comes unless asked for', async () => {
    const password = await server.adduser('eve');
    const t = await tokenFor('eve', password, 'HT-SHA-256-NONE');
    const out = await withToken('eve', 'HT-SHA-256-NONE', t.token, { inline: `<fast xmlns='${NS2.FAST}' invalidate='true'/>` });
    assert.ok(out.success);
    assert.ok(!out.final.includes('<token'));
    assert.equal((await withToken('eve', 'HT-SHA-256-NONE', t.token)).condition, 'not-authorized');
  });

  it('refused after revocation by the operator (jabberx revoke-tokens), after a password change and after the account is deleted', async () => {
    const password = await server.adduser('fred');
    const revoked = await tokenFor('fred', password, 'HT-SHA-256-NONE');
    const other = await tokenFor('fred', password, 'HT-SHA-256-NONE', '7d0e1c2b-0000-4000-8000-00000000000a');
    const cli = await server.cli(['revoke-tokens', 'fred@localhost']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /revoked 2 login token\(s\) of fred@localhost/);
    assert.equal((await withToken('fred', 'HT-SHA-256-NONE', revoked.token)).condition, 'not-authorized');
    assert.equal((await withToken('fred', 'HT-SHA-256-NONE', other.token, { userAgentId: '7d0e1c2b-0000-4000-8000-00000000000a' })).condition, 'not-authorized');

    const beforeChange = await tokenFor('fred', password, 'HT-SHA-256-NONE');
    assert.equal((await server.cli(['passwd', 'fred@localhost', '--password', 'a new password'])).code, 0);
    assert.equal((await withToken('fred', 'HT-SHA-256-NONE', beforeChange.token)).condition, 'not-authorized');

    const beforeDeletion = await tokenFor('fred', 'a new password', 'HT-SHA-256-NONE');
    assert.equal((await server.cli(['deluser', 'fred@localhost'])).code, 0);
    assert.equal(await withStorage(server, (s) => s.keyval(server.domain, 'fast_tokens').get('fred')), undefined, 'nothing left of the tokens');
    await server.adduser('fred', 'a new password');
    assert.equal((await withToken('fred', 'HT-SHA-256-NONE', beforeDeletion.token)).condition, 'not-authorized', 'a new account of the same name inherits no token');
  });

  it('only hashes at rest: neither a token nor its hash is in the database files or the logs', async () => {
    const password = await server.adduser('gail');
    const t = await tokenFor('gail', password, 'HT-SHA-256-NONE');
    assert.ok((await withToken('gail', 'HT-SHA-256-NONE', t.token)).success);
    const hash = createHash('sha256').update(t.token).digest();
    const needles = [t.token, Buffer.from(t.token).toString('base64'), hash.toString('base64'), hash.toString('hex')];
    for (const file of listFiles(server.dataDir)) {
      const bytes = readFileSync(file);
      for (const needle of [...needles.map((n) => Buffer.from(n)), hash]) assert.equal(bytes.indexOf(needle), -1, `${file} holds the token or its hash`);
    }
    const logs = server.logs();
    for (const needle of needles) assert.ok(!logs.includes(needle), 'the logs hold the token');
  });
});
