// Tests for the SCRAM server (RFC 5802 §5 and RFC 7677 §3 vectors, XEP-0474 §5.3 example, channel binding, failures).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import {
  ScramServer, deriveCredentials, downgradeProtectionHash, parseScramMechanism, scramMechanismName, verifyPassword,
  type ScramCredentials, type ScramHash, type ScramServerOptions,
} from './scram.ts';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const nodeAlgo = (h: ScramHash): string => (h === 'SHA-1' ? 'sha1' : 'sha256');

/** A tiny independent SCRAM client, only for driving the server in tests. */
function scramClient(hash: ScramHash, password: string, gs2Header: string, cbData: Buffer = Buffer.alloc(0)) {
  const algo = nodeAlgo(hash);
  const len = hash === 'SHA-1' ? 20 : 32;
  return {
    final(clientFirstBare: string, serverFirst: string, extra = ''): { message: string; serverSignature: string } {
      const attrs = new Map(serverFirst.split(',').map((a) => [a[0], a.slice(2)] as const));
      const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
      const salted = pbkdf2Sync(password, salt, Number(attrs.get('i')), len, algo);
      const clientKey = createHmac(algo, salted).update('Client Key').digest();
      const storedKey = createHash(algo).update(clientKey).digest();
      const c = Buffer.concat([b(gs2Header), cbData]).toString('base64');
      const withoutProof = `c=${c},r=${attrs.get('r')}${extra}`;
      const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
      const sig = createHmac(algo, storedKey).update(authMessage).digest();
      const proof = Buffer.from(clientKey.map((x, i) => x ^ (sig[i] ?? 0)));
      const serverKey = createHmac(algo, salted).update('Server Key').digest();
      return {
        message: `${withoutProof},p=${proof.toString('base64')}`,
        serverSignature: createHmac(algo, serverKey).update(authMessage).digest('base64'),
      };
    },
  };
}

const users = new Map<string, ScramCredentials>();
async function credsFor(hash: ScramHash, password: string, salt: string, iterations = 4096): Promise<ScramCredentials> {
  return deriveCredentials(password, hash, iterations, Buffer.from(salt, 'base64'));
}

function server(opts: Partial<ScramServerOptions> & { hash: ScramHash }): ScramServer {
  return new ScramServer({
    plus: false,
    lookup: async (u) => users.get(u),
    channelBinding: () => undefined,
    supportedCbTypes: [],
    ...opts,
  });
}

function challengeOf(r: { challenge: Buffer } | { failure: unknown }): string {
  assert.ok('challenge' in r, `expected challenge, got ${JSON.stringify(r)}`);
  return r.challenge.toString('utf8');
}

test('RFC 5802 §5 SCRAM-SHA-1 test vector', async () => {
  users.set('user', await credsFor('SHA-1', 'pencil', 'QSXCR+Q6sek8bf92'));
  const s = server({ hash: 'SHA-1', nonceFactory: () => '3rfcNHYJY1ZVvWVs7j' });
  const first = challengeOf(await s.clientFirst(b('n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL')));
  assert.equal(first, 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096');
  const r = s.clientFinal(b('c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts='));
  assert.ok('success' in r, JSON.stringify(r));
  assert.equal(r.success.toString(), 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=');
  assert.equal(r.username, 'user');
  assert.equal(r.authzid, undefined);
});

test('RFC 7677 §3 SCRAM-SHA-256 test vector', async () => {
  const creds = await credsFor('SHA-256', 'pencil', 'W22ZaJ0SNY7soEsUEjb6gQ==');
  const s = server({ hash: 'SHA-256', lookup: async (u) => (u === 'user' ? creds : undefined), nonceFactory: () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0' });
  const first = challengeOf(await s.clientFirst(b('n,,n=user,r=rOprNGfwEbeRWgbNEkqO')));
  assert.equal(first, 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
  const r = s.clientFinal(b('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='));
  assert.ok('success' in r, JSON.stringify(r));
  assert.equal(r.success.toString(), 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
});

test('XEP-0474 hash of the spec example', () => {
  assert.equal(
    downgradeProtectionHash('SHA-1', ['SCRAM-SHA-1-PLUS', 'SCRAM-SHA-1'], ['tls-server-end-point', 'tls-exporter']),
    'G6k/rBLDqgOhRRaCuuatSDFkJ08=',
  );
  // Without XEP-0440 there is no %x1F part; an empty list counts as not advertised.
  const expected = createHash('sha256').update('PLAIN\x1eSCRAM-SHA-1\x1eSCRAM-SHA-256').digest('base64');
  assert.equal(downgradeProtectionHash('SHA-256', ['SCRAM-SHA-256', 'PLAIN', 'SCRAM-SHA-1']), expected);
  assert.equal(downgradeProtectionHash('SHA-256', ['SCRAM-SHA-256', 'PLAIN', 'SCRAM-SHA-1'], []), expected);
});

test('XEP-0474 full example: SCRAM-SHA-1-PLUS with tls-exporter, h= and an x= extension', async () => {
  const creds = await credsFor('SHA-1', 'pencil', 'QSXCR+Q6sek8bf92');
  const s = server({
    hash: 'SHA-1',
    plus: true,
    lookup: async () => creds,
    supportedCbTypes: ['tls-server-end-point', 'tls-exporter'],
    channelBinding: (t) => (t === 'tls-exporter' ? b('THIS IS FAKE CB DATA') : undefined),
    downgradeProtection: { mechanisms: ['SCRAM-SHA-1', 'SCRAM-SHA-1-PLUS'], cbTypes: ['tls-server-end-point', 'tls-exporter'] },
    nonceFactory: () => 'a09117a6-ac50-4f2f-93f1-93799c2bddf6',
  });
  const first = challengeOf(await s.clientFirst(b('p=tls-exporter,,n=user,r=12C4CD5C-E38E-4A98-8F6D-15C38F51CCC6')));
  assert.equal(first, 'r=12C4CD5C-E38E-4A98-8F6D-15C38F51CCC6a09117a6-ac50-4f2f-93f1-93799c2bddf6,s=QSXCR+Q6sek8bf92,i=4096,h=G6k/rBLDqgOhRRaCuuatSDFkJ08=');
  const r = s.clientFinal(b('c=cD10bHMtZXhwb3J0ZXIsLFRISVMgSVMgRkFLRSBDQiBEQVRB,r=12C4CD5C-E38E-4A98-8F6D-15C38F51CCC6a09117a6-ac50-4f2f-93f1-93799c2bddf6,x=19C6532F-1CF4-4A27-A18D-DC9CEA41BBB3,p=M/SIDjT+dfcxUh89jZEypRvFxB4='));
  assert.ok('success' in r, JSON.stringify(r));
  assert.equal(r.success.toString(), 'v=MQrMPvv7yv4x4Cq4W4Ih25EqS2c=');
});

test('full exchange via the test client, with authzid and escaped username', async () => {
  users.set('a,b=c', await deriveCredentials('s3cret', 'SHA-256', 4096));
  const s = server({ hash: 'SHA-256' });
  const bare = 'n=a=2Cb=3Dc,r=abc';
  const gs2 = 'n,a=admin@x=2Cy,';
  const first = challengeOf(await s.clientFirst(b(gs2 + bare)));
  const { message, serverSignature } = scramClient('SHA-256', 's3cret', gs2).final(bare, first);
  const r = s.clientFinal(b(message));
  assert.ok('success' in r, JSON.stringify(r));
  assert.equal(r.success.toString(), `v=${serverSignature}`);
  assert.equal(r.username, 'a,b=c');
  assert.equal(r.authzid, 'admin@x,y');
});

test('wrong password and unknown user fail identically with not-authorized', async () => {
  users.set('user', await credsFor('SHA-1', 'pencil', 'QSXCR+Q6sek8bf92'));
  const results = [];
  for (const [user, pw] of [['user', 'pencil2'], ['nobody', 'pencil']] as const) {
    const s = server({ hash: 'SHA-1' });
    const bare = `n=${user},r=nonce1`;
    const first = challengeOf(await s.clientFirst(b('n,,' + bare)));
    assert.match(first, /^r=nonce1[^,]+,s=[A-Za-z0-9+/]+=*,i=4096$/);
    results.push(s.clientFinal(b(scramClient('SHA-1', pw, 'n,,').final(bare, first).message)));
  }
  assert.deepEqual(results[0], { failure: { condition: 'not-authorized', scramError: 'invalid-proof' } });
  assert.deepEqual(results[1], results[0]);
});

test('unknown user gets a stable fake salt and the configured iteration count', async () => {
  const salts = new Set<string>();
  for (let i = 0; i < 2; i++) {
    const s = server({ hash: 'SHA-256', unknownUserIterations: 10000 });
    const first = challengeOf(await s.clientFirst(b('n,,n=ghost,r=xyz')));
    assert.match(first, /,i=10000$/);
    salts.add(first.split(',')[1] ?? '');
  }
  assert.equal(salts.size, 1);
  const other = challengeOf(await server({ hash: 'SHA-256' }).clientFirst(b('n,,n=ghost2,r=xyz')));
  assert.ok(!salts.has(other.split(',')[1] ?? ''));
});

test('-PLUS with matching and non-matching channel-binding data', async () => {
  users.set('user', await credsFor('SHA-256', 'pencil', 'W22ZaJ0SNY7soEsUEjb6gQ=='));
  const cb = Buffer.from([1, 2, 3, 250, 0, 9]);
  const mk = () => server({ hash: 'SHA-256', plus: true, supportedCbTypes: ['tls-exporter', 'tls-server-end-point'], channelBinding: (t) => (t === 'tls-exporter' ? cb : undefined) });
  const bare = 'n=user,r=cn';
  const gs2 = 'p=tls-exporter,,';

  let s = mk();
  let first = challengeOf(await s.clientFirst(b(gs2 + bare)));
  const ok = s.clientFinal(b(scramClient('SHA-256', 'pencil', gs2, cb).final(bare, first).message));
  assert.ok('success' in ok);

  s = mk();
  first = challengeOf(await s.clientFirst(b(gs2 + bare)));
  const bad = s.clientFinal(b(scramClient('SHA-256', 'pencil', gs2, Buffer.from([1, 2, 3])).final(bare, first).message));
  assert.deepEqual(bad, { failure: { condition: 'not-authorized', scramError: 'channel-bindings-dont-match', text: 'Channel bindings do not match' } });

  // Advertised type but no data available (e.g. TLS 1.2 without EMS), and an unadvertised type.
  for (const type of ['tls-server-end-point', 'tls-unique']) {
    const r = await mk().clientFirst(b(`p=${type},,${bare}`));
    assert.ok('failure' in r);
    assert.equal(r.failure.condition, 'not-authorized');
    assert.equal(r.failure.scramError, 'unsupported-channel-binding-type');
  }
  // -PLUS without p=, and p= on a non-PLUS mechanism.
  for (const [plus, msg] of [[true, 'n,,' + bare], [true, 'y,,' + bare], [false, gs2 + bare]] as const) {
    const r = await server({ hash: 'SHA-256', plus, supportedCbTypes: ['tls-exporter'], channelBinding: () => cb }).clientFirst(b(msg));
    assert.ok('failure' in r);
    assert.equal(r.failure.condition, 'malformed-request');
  }
});

test("'y' flag: downgrade detected when -PLUS is advertised, accepted otherwise", async () => {
  users.set('user', await credsFor('SHA-1', 'pencil', 'QSXCR+Q6sek8bf92'));
  const bare = 'n=user,r=cn';
  const r = await server({ hash: 'SHA-1', supportedCbTypes: ['tls-exporter'], channelBinding: () => b('x') }).clientFirst(b('y,,' + bare));
  assert.ok('failure' in r);
  assert.deepEqual([r.failure.condition, r.failure.scramError], ['not-authorized', 'server-does-support-channel-binding']);

  const s = server({ hash: 'SHA-1' });
  const first = challengeOf(await s.clientFirst(b('y,,' + bare)));
  assert.ok('success' in s.clientFinal(b(scramClient('SHA-1', 'pencil', 'y,,').final(bare, first).message)));

  // A MITM rewriting 'y' to 'n' in the first message is caught by c= in the final one.
  const s2 = server({ hash: 'SHA-1' });
  const first2 = challengeOf(await s2.clientFirst(b('n,,' + bare)));
  const r2 = s2.clientFinal(b(scramClient('SHA-1', 'pencil', 'y,,').final(bare, first2).message));
  assert.ok('failure' in r2);
  assert.equal(r2.failure.scramError, 'channel-bindings-dont-match');
});

test('malformed client-first messages fail without throwing', async () => {
  const cases: [string | Buffer, string][] = [
    ['', 'malformed-request'],
    ['n,,n=user', 'malformed-request'],
    ['x,,n=user,r=abc', 'malformed-request'],
    ['p=,,n=user,r=abc', 'malformed-request'],
    ['n,b=x,n=user,r=abc', 'malformed-request'],
    ['n,a=,n=user,r=abc', 'malformed-request'],
    ['n,,m=ext,n=user,r=abc', 'malformed-request'],
    ['n,,r=abc,n=user', 'malformed-request'],
    ['n,,n=,r=abc', 'malformed-request'],
    ['n,,n=us=er,r=abc', 'malformed-request'],
    ['n,,n=us=2c,r=abc', 'malformed-request'],
    ['n,,n=user,r=', 'malformed-request'],
    ['n,,n=user,r=a b', 'malformed-request'],
    ['n,,n=user,r=abc,bogus', 'malformed-request'],
    ['n,,n=user,r=abc,', 'malformed-request'],
    ['n,,n=us\0er,r=abc', 'malformed-request'],
    [Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xff, 0x2c, 0x72, 0x3d, 0x61]), 'malformed-request'],
    ['n,,n=user,r=' + 'a'.repeat(10000), 'malformed-request'],
  ];
  for (const [msg, condition] of cases) {
    const r = await server({ hash: 'SHA-1' }).clientFirst(typeof msg === 'string' ? b(msg) : msg);
    assert.ok('failure' in r, `accepted ${JSON.stringify(msg.toString())}`);
    assert.equal(r.failure.condition, condition, JSON.stringify(msg.toString()));
  }
  // m= extension gets the specific error; unknown optional extensions are ignored.
  const m = await server({ hash: 'SHA-1' }).clientFirst(b('n,,m=ext,n=user,r=abc'));
  assert.ok('failure' in m && m.failure.scramError === 'extensions-not-supported');
  assert.ok('challenge' in (await server({ hash: 'SHA-1' }).clientFirst(b('n,,n=user,r=abc,x=1,Y=a=b'))));
});

test('malformed client-final messages fail without throwing', async () => {
  users.set('user', await credsFor('SHA-1', 'pencil', 'QSXCR+Q6sek8bf92'));
  const nonce = 'cn' + 'SN';
  const goodProof = 'p=' + Buffer.alloc(20, 1).toString('base64');
  const cases: [string, string][] = [
    ['', 'malformed-request'],
    [`c=biws,r=${nonce}`, 'malformed-request'],
    [`r=${nonce},c=biws,${goodProof}`, 'malformed-request'],
    [`c=biws,r=${nonce},p=@@@@`, 'malformed-request'],
    [`c=bi!s,r=${nonce},${goodProof}`, 'malformed-request'],
    [`c=biws,r=${nonce},p=AAAA`, 'malformed-request'],
    // RFC 4648 §3.5: the same 20 bytes spelled with non-zero pad bits (…AQE= is canonical).
    [`c=biws,r=${nonce},p=${Buffer.alloc(20, 1).toString('base64').replace(/E=$/, 'F=')}`, 'malformed-request'],
    [`c=biws,r=${nonce},${goodProof},x=1`, 'malformed-request'],
    [`c=biws,r=${nonce},bad,${goodProof}`, 'malformed-request'],
    [`c=biws,r=cnXX,${goodProof}`, 'not-authorized'],
    [`c=biws,r=cn,${goodProof}`, 'not-authorized'],
    [`c=,r=${nonce},${goodProof}`, 'not-authorized'],
    [`c=biws,r=${nonce},${goodProof}`, 'not-authorized'],
  ];
  for (const [msg, condition] of cases) {
    const s = server({ hash: 'SHA-1', nonceFactory: () => 'SN' });
    challengeOf(await s.clientFirst(b('n,,n=user,r=cn')));
    const r = s.clientFinal(b(msg));
    assert.ok('failure' in r, `accepted ${msg}`);
    assert.equal(r.failure.condition, condition, msg);
  }
});

test('state machine: out-of-order and repeated calls fail', async () => {
  users.set('user', await credsFor('SHA-1', 'pencil', 'QSXCR+Q6sek8bf92'));
  const s = server({ hash: 'SHA-1' });
  assert.ok('failure' in s.clientFinal(b('c=biws,r=x,p=AAAA')));
  assert.ok('failure' in (await s.clientFirst(b('n,,n=user,r=abc'))));

  const s2 = server({ hash: 'SHA-1' });
  const bare = 'n=user,r=abc';
  const first = challengeOf(await s2.clientFirst(b('n,,' + bare)));
  assert.ok('failure' in (await s2.clientFirst(b('n,,' + bare))));
  // A final message racing the pending lookup ends the exchange for good.
  const s3 = server({ hash: 'SHA-1' });
  const pending = s3.clientFirst(b('n,,' + bare));
  assert.ok('failure' in s3.clientFinal(b('c=biws,r=abc,p=AAAA')));
  assert.ok('failure' in (await pending));

  // After any failure the exchange is over, even with a valid final message.
  assert.ok('failure' in s2.clientFinal(b(scramClient('SHA-1', 'pencil', 'n,,').final(bare, first).message)));
});

test('lookup errors and corrupt records give temporary-auth-failure', async () => {
  const throwing = server({ hash: 'SHA-1', lookup: async () => { throw new Error('db down'); } });
  const r1 = await throwing.clientFirst(b('n,,n=user,r=abc'));
  assert.ok('failure' in r1 && r1.failure.condition === 'temporary-auth-failure');
  const corrupt = server({ hash: 'SHA-256', lookup: async () => ({ salt: 'QSXCR+Q6sek8bf92', iterations: 4096, storedKey: 'AAAA', serverKey: 'AAAA' }) });
  const r2 = await corrupt.clientFirst(b('n,,n=user,r=abc'));
  assert.ok('failure' in r2 && r2.failure.condition === 'temporary-auth-failure');
});

test('deriveCredentials and verifyPassword', async () => {
  const creds = await deriveCredentials('pencil', 'SHA-256', 4096);
  assert.equal(Buffer.from(creds.salt, 'base64').length, 16);
  assert.deepEqual(JSON.parse(JSON.stringify(creds)), creds);
  assert.equal(await verifyPassword('pencil', 'SHA-256', creds), true);
  assert.equal(await verifyPassword('pencil!', 'SHA-256', creds), false);
  assert.equal(await verifyPassword('pencil', 'SHA-1', creds), false); // wrong key length for the hash
  const vector = await credsFor('SHA-1', 'pencil', 'QSXCR+Q6sek8bf92');
  assert.equal(await verifyPassword('pencil', 'SHA-1', vector), true);
  await assert.rejects(deriveCredentials('x', 'SHA-1', 0), RangeError);
});

test('mechanism names', () => {
  assert.equal(scramMechanismName('SHA-256', true), 'SCRAM-SHA-256-PLUS');
  assert.deepEqual(parseScramMechanism('SCRAM-SHA-1'), { hash: 'SHA-1', plus: false });
  assert.deepEqual(parseScramMechanism('SCRAM-SHA-256-PLUS'), { hash: 'SHA-256', plus: true });
  assert.equal(parseScramMechanism('SCRAM-SHA-512'), undefined);
});
