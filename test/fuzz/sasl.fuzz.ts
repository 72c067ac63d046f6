// Fuzzing SASL message parsing: the SCRAM server (src/lib/scram.ts, RFC 5802 / RFC 7677 with channel
// binding), SASL PLAIN (src/lib/sasl-plain.ts, RFC 4616) and password preparation
// (src/lib/saslprep.ts, the RFC 8265 OpaqueString profile, and the other PRECIS profile it shares code with).
//
// Properties: no client message makes ScramServer throw; every answer is a well-formed failure or a
// well-formed challenge/success; a mutated exchange succeeds exactly when an independent client
// with the right password would (and never with altered signed content); PLAIN splits exactly into
// its three fields; preparation throws nothing but PrecisError and is idempotent.
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import fc from 'fast-check';
import {
  ScramServer, deriveCredentials, type SaslFailure, type ScramCredentials, type ScramHash,
} from '../../src/lib/scram.ts';
import { parsePlain } from '../../src/lib/sasl-plain.ts';
import { PrecisError, preparePassword } from '../../src/lib/saslprep.ts';
import { checkIdnaLabel, derivedProperty, enforceUsernameCaseMapped, widthMap } from '../../src/lib/precis.ts';
import { fuzzTests, type FuzzTarget } from './lib/runner.ts';

const PASSWORD = 'pencil';
const USER = 'user';
// One iteration: the fuzz is about parsing, not PBKDF2.
const CREDS: Record<ScramHash, ScramCredentials> = {
  'SHA-1': await deriveCredentials(PASSWORD, 'SHA-1', 1, Buffer.from('salt-1')),
  'SHA-256': await deriveCredentials(PASSWORD, 'SHA-256', 1, Buffer.from('salt-256')),
};
const CB: Record<string, Buffer> = { 'tls-exporter': Buffer.alloc(32, 7), 'tls-server-end-point': Buffer.alloc(32, 9) };

const CONDITIONS = new Set([
  'aborted', 'account-disabled', 'credentials-expired', 'encryption-required', 'incorrect-encoding', 'invalid-authzid',
  'invalid-mechanism', 'malformed-request', 'mechanism-too-weak', 'not-authorized', 'temporary-auth-failure',
]);
const SCRAM_ERRORS = new Set([
  'invalid-encoding', 'extensions-not-supported', 'invalid-proof', 'channel-bindings-dont-match',
  'server-does-support-channel-binding', 'channel-binding-not-supported', 'unsupported-channel-binding-type',
  'unknown-user', 'invalid-username-encoding', 'no-resources', 'other-error',
]);

interface ServerSetup {
  hash: ScramHash;
  plus: boolean;
  /** -PLUS offered on the connection (only matters without plus). */
  plusAdvertised: boolean;
  downgrade: boolean;
}

const setupArb: fc.Arbitrary<ServerSetup> = fc.record({
  hash: fc.constantFrom<ScramHash>('SHA-1', 'SHA-256'),
  plus: fc.boolean(),
  plusAdvertised: fc.boolean(),
  downgrade: fc.boolean(),
});

function makeServer(s: ServerSetup): ScramServer {
  return new ScramServer({
    hash: s.hash,
    plus: s.plus,
    async lookup(u) {
      if (u === USER) return CREDS[s.hash];
      if (u === 'broken') return { salt: '!!', iterations: 0, storedKey: '', serverKey: '' };
      if (u === 'throws') throw new Error('storage down');
      return undefined;
    },
    channelBinding: (t) => CB[t],
    supportedCbTypes: s.plus || s.plusAdvertised ? ['tls-exporter', 'tls-server-end-point'] : [],
    plusAdvertised: s.plus || s.plusAdvertised,
    ...(s.downgrade ? { downgradeProtection: { mechanisms: ['SCRAM-SHA-256', 'PLAIN'], cbTypes: ['tls-exporter'] } } : {}),
    unknownUserIterations: 1,
  });
}

function assertFailure(f: SaslFailure): void {
  assert.ok(CONDITIONS.has(f.condition), `bad condition ${f.condition}`);
  if (f.scramError !== undefined) assert.ok(SCRAM_ERRORS.has(f.scramError), `bad scram error ${f.scramError}`);
  if (f.text !== undefined) assert.equal(typeof f.text, 'string');
}

const SERVER_FIRST = /^r=([\x21-\x2b\x2d-\x7e]+),s=((?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?),i=([1-9][0-9]*)(?:,h=[A-Za-z0-9+/=]+)?$/;

/** Checks a clientFirst answer; returns the server-first-message, or undefined on failure. */
function checkFirstAnswer(r: unknown, clientNonce: string | undefined): string | undefined {
  assert.ok(typeof r === 'object' && r !== null, 'answer is not an object');
  if ('failure' in r) {
    assertFailure(r.failure as SaslFailure);
    return undefined;
  }
  assert.ok('challenge' in r && Buffer.isBuffer(r.challenge), 'neither failure nor challenge');
  const text = r.challenge.toString('utf8');
  const m = SERVER_FIRST.exec(text);
  assert.ok(m, `malformed server-first-message ${text}`);
  if (clientNonce !== undefined) assert.ok(m[1]!.startsWith(clientNonce) && m[1]!.length > clientNonce.length, 'nonce does not extend the client nonce');
  return text;
}

/** saslname (RFC 5802 §5.1) */
const encodeName = (s: string): string => s.replaceAll('=', '=3D').replaceAll(',', '=2C');
function decodeName(s: string): string | undefined {
  if (s === '' || /=(?!2C|3D)/.test(s)) return undefined;
  return s.replaceAll('=2C', ',').replaceAll('=3D', '=');
}

/** An independent SCRAM client computation of client-final for (gs2Header, bare, serverFirst). */
function clientFinal(hash: ScramHash, gs2Header: string, bare: string, serverFirst: string, extra = ''): { message: string; proof: string } {
  const algo = hash === 'SHA-1' ? 'sha1' : 'sha256';
  const len = hash === 'SHA-1' ? 20 : 32;
  const attrs = new Map(serverFirst.split(',').map((a) => [a[0], a.slice(2)] as const));
  const salted = pbkdf2Sync(PASSWORD, Buffer.from(attrs.get('s') ?? '', 'base64'), Number(attrs.get('i')), len, algo);
  const clientKey = createHmac(algo, salted).update('Client Key').digest();
  const storedKey = createHash(algo).update(clientKey).digest();
  const cbType = gs2Header.startsWith('p=') ? gs2Header.slice(2, gs2Header.indexOf(',')) : undefined;
  const cbData = cbType !== undefined ? (CB[cbType] ?? Buffer.alloc(0)) : Buffer.alloc(0);
  const withoutProof = `c=${Buffer.concat([Buffer.from(gs2Header), cbData]).toString('base64')},r=${attrs.get('r') ?? ''}${extra}`;
  const sig = createHmac(algo, storedKey).update(`${bare},${serverFirst},${withoutProof}`).digest();
  const proof = Buffer.from(clientKey.map((x, i) => x ^ (sig[i] ?? 0))).toString('base64');
  return { message: `${withoutProof},p=${proof}`, proof };
}

interface ClientFirst {
  flag: string;
  authzid: string | null;
  user: string;
  nonce: string;
  ext: string[];
}

const nonceArb = fc.string({ unit: fc.constantFrom(...'abcXYZ019+/=-_!~'.split('')), minLength: 1, maxLength: 24 });
const clientFirstArb: fc.Arbitrary<ClientFirst> = fc.record({
  flag: fc.constantFrom('n', 'y', 'p=tls-exporter', 'p=tls-server-end-point', 'p=tls-unique'),
  authzid: fc.option(fc.oneof(fc.constant('admin@localhost'), fc.string({ maxLength: 8 }))),
  user: fc.oneof({ weight: 6, arbitrary: fc.constant(USER) }, fc.constantFrom('nobody', 'broken', 'throws', 'us,er', 'u=er', 'üser')),
  nonce: nonceArb,
  ext: fc.array(fc.constantFrom('x=1', 'q=ab=c', 'Z=é'), { maxLength: 2 }),
});

function firstText(c: ClientFirst): { gs2: string; bare: string } {
  const gs2 = `${c.flag},${c.authzid !== null ? `a=${encodeName(c.authzid)}` : ''},`;
  return { gs2, bare: [`n=${encodeName(c.user)}`, `r=${c.nonce}`, ...c.ext].join(',') };
}

// Byte-level mutations of a message.
const TOKENS = [',', '=', '=2C', '=3D', '==', 'n=', 'r=', 'p=', 'c=', 'a=', 'm=', 'x=', '\0', '\xff', '\u00e9', ',,', 'p=tls-exporter'];
type Mutation = { at: number; op: 'flip' | 'insert' | 'delete' | 'truncate'; v: number };
const mutationArb = fc.record({ at: fc.nat(), op: fc.constantFrom('flip', 'insert', 'delete', 'truncate'), v: fc.nat() }) as fc.Arbitrary<Mutation>;

function mutate(msg: Buffer, ms: Mutation[]): Buffer {
  let b = msg;
  for (const m of ms) {
    const at = m.at % (b.length + 1);
    if (m.op === 'flip' && at < b.length) b = Buffer.concat([b.subarray(0, at), Buffer.from([m.v % 256]), b.subarray(at + 1)]);
    else if (m.op === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(TOKENS[m.v % TOKENS.length] ?? ',', 'latin1'), b.subarray(at)]);
    else if (m.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + (m.v % 8))]);
    else if (m.op === 'truncate') b = b.subarray(0, at);
  }
  return b;
}

const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.array(fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 6 })), { maxLength: 12 }).map((a) => Buffer.from(a.join(''))),
  fc.constant(Buffer.alloc(9000, 'a')),
);

/** A server-side flow with the first message expected to be accepted as-is. */
function expectAccepted(s: ServerSetup, c: ClientFirst): boolean {
  if (c.authzid === '' || c.user === 'broken' || c.user === 'throws') return false;
  const cb = c.flag.startsWith('p=') ? c.flag.slice(2) : undefined;
  if (s.plus) return cb === 'tls-exporter' || cb === 'tls-server-end-point';
  if (cb !== undefined) return false;
  return !(c.flag === 'y' && s.plusAdvertised);
}

export const targets = {
  /** clientFirst with arbitrary bytes, then clientFinal with arbitrary bytes: well-formed answers, never a success. */
  'SCRAM arbitrary messages': {
    runs: 50_000,
    arbitrary: () => fc.record({ setup: setupArb, first: bytesArb, final: bytesArb }),
    async check({ setup, first, final }) {
      const server = makeServer(setup);
      checkFirstAnswer(await server.clientFirst(first), undefined);
      const r = server.clientFinal(final);
      assert.ok('failure' in r, 'arbitrary client-final-message succeeded');
      assertFailure(r.failure);
    },
  } satisfies FuzzTarget<{ setup: ServerSetup; first: Buffer; final: Buffer }>,

  /**
   * Generated (valid and invalid) client-first-messages, possibly mutated; when the server challenges,
   * an independent client with the right password answers: it succeeds exactly for the known user.
   */
  'SCRAM mutated client-first': {
    runs: 20_000,
    arbitrary: () => fc.record({ setup: setupArb, first: clientFirstArb, mutations: fc.array(mutationArb, { maxLength: 3 }) }),
    async check({ setup, first, mutations }) {
      const { gs2, bare } = firstText(first);
      const original = Buffer.from(gs2 + bare);
      const msg = mutate(original, mutations);
      const server = makeServer(setup);
      const serverFirst = checkFirstAnswer(await server.clientFirst(msg), undefined);
      if (msg.equals(original)) assert.equal(serverFirst !== undefined, expectAccepted(setup, first), 'unmutated acceptance');
      if (serverFirst === undefined) return;
      // Reference split of what the server accepted: gs2-header = first two fields.
      const text = msg.toString('utf8');
      const fields = text.split(',');
      const gs2m = `${fields[0] ?? ''},${fields[1] ?? ''},`;
      const barem = fields.slice(2).join(',');
      const user = decodeName((fields[2] ?? '').slice(2));
      const authz = fields[1] ? decodeName(fields[1].slice(2)) : undefined;
      assert.ok(serverFirst.startsWith(`r=${(fields[3] ?? '').slice(2)}`), 'nonce');
      const r = server.clientFinal(Buffer.from(clientFinal(setup.hash, gs2m, barem, serverFirst).message));
      if (user === USER) {
        assert.ok(!('failure' in r), `the right password failed: ${JSON.stringify(r)} for ${JSON.stringify(text)}`);
        assert.equal(r.username, USER);
        assert.equal(r.authzid, authz);
        const sf = r.success.toString('utf8');
        assert.match(sf, /^v=[A-Za-z0-9+/]+=*$/);
      } else {
        assert.ok('failure' in r, `unknown user ${String(user)} succeeded`);
        assertFailure(r.failure);
      }
    },
  } satisfies FuzzTarget<{ setup: ServerSetup; first: ClientFirst; mutations: Mutation[] }>,

  /** A valid exchange whose client-final-message is mutated: success only if the signed part is untouched. */
  'SCRAM mutated client-final': {
    runs: 20_000,
    arbitrary: () =>
      fc.record({
        setup: setupArb,
        nonce: nonceArb,
        extra: fc.constantFrom('', ',x=1'),
        mutations: fc.array(mutationArb, { maxLength: 3 }),
      }),
    async check({ setup, nonce, extra, mutations }) {
      const flag = setup.plus ? 'p=tls-exporter' : 'n';
      const gs2 = `${flag},,`;
      const bare = `n=${USER},r=${nonce}`;
      const server = makeServer(setup);
      const serverFirst = checkFirstAnswer(await server.clientFirst(Buffer.from(gs2 + bare)), nonce);
      assert.ok(serverFirst !== undefined, 'valid client-first refused');
      const { message, proof } = clientFinal(setup.hash, gs2, bare, serverFirst, extra);
      const original = Buffer.from(message);
      const msg = mutate(original, mutations);
      const r = server.clientFinal(msg);
      if (msg.equals(original)) assert.ok(!('failure' in r), `valid client-final refused: ${JSON.stringify(r)}`);
      if ('failure' in r) {
        assertFailure(r.failure);
        return;
      }
      // Accepted: the signed part must be exactly what was signed, the proof the same bytes.
      const text = msg.toString('utf8');
      const cut = text.lastIndexOf(',');
      assert.equal(text.slice(0, cut), message.slice(0, message.lastIndexOf(',')), `altered client-final accepted: ${JSON.stringify(text)}`);
      assert.ok(Buffer.from(text.slice(cut + 3), 'base64').equals(Buffer.from(proof, 'base64')), 'altered proof accepted');
      assert.equal(r.username, USER);
    },
  } satisfies FuzzTarget<{ setup: ServerSetup; nonce: string; extra: string; mutations: Mutation[] }>,

  /** Messages in any order, awaited or overlapping: well-formed answers, at most one success, only for a real proof. */
  'SCRAM call order': {
    runs: 5_000,
    arbitrary: () =>
      fc.record({
        setup: setupArb,
        ops: fc.array(fc.record({ op: fc.constantFrom('first', 'final', 'final-random'), wait: fc.boolean() }), { minLength: 1, maxLength: 6 }),
      }),
    async check({ setup, ops }) {
      const server = makeServer(setup);
      const flag = setup.plus ? 'p=tls-exporter' : 'n';
      const bare = `n=${USER},r=abc`;
      let serverFirst: string | undefined;
      let successes = 0;
      const pending: Promise<void>[] = [];
      for (const { op, wait } of ops) {
        let p: Promise<void>;
        if (op === 'first') {
          p = server.clientFirst(Buffer.from(`${flag},,${bare}`)).then((r) => {
            serverFirst = checkFirstAnswer(r, 'abc') ?? serverFirst;
          });
        } else {
          const msg = op === 'final' && serverFirst !== undefined ? clientFinal(setup.hash, `${flag},,`, bare, serverFirst).message : 'c=biws,r=abc,p=AAAA';
          const r = server.clientFinal(Buffer.from(msg));
          if ('failure' in r) assertFailure(r.failure);
          else successes++;
          p = Promise.resolve();
        }
        if (wait) await p;
        else pending.push(p);
      }
      await Promise.all(pending);
      assert.ok(successes <= 1, 'more than one success in one exchange');
    },
  } satisfies FuzzTarget<{ setup: ServerSetup; ops: { op: string; wait: boolean }[] }>,

  /** PLAIN: a message is accepted exactly when it is authzid NUL authcid NUL passwd, split back byte for byte. */
  'SASL PLAIN': {
    runs: 20_000,
    arbitrary: () =>
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
        fc
          .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.constantFrom('\0', '\0\0', '\ufeff', 'a'.repeat(1025))), { maxLength: 6 })
          .map((a) => Buffer.from(a.join(''))),
        fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })).map((a) => Buffer.from(a.join('\0'))),
      ),
    check(msg) {
      const r = parsePlain(msg);
      if ('failure' in r) {
        assert.equal(r.failure.condition, 'malformed-request');
        return;
      }
      assert.ok(r.username !== '' && r.password !== '' && r.authzid !== '');
      const rebuilt = Buffer.concat([Buffer.from(r.authzid ?? ''), Buffer.from([0]), Buffer.from(r.username), Buffer.from([0]), Buffer.from(r.password)]);
      assert.ok(rebuilt.equals(msg), 'fields do not rebuild the message');
      for (const f of [r.authzid ?? '', r.username, r.password]) assert.ok(Buffer.byteLength(f) <= 1024 && !f.includes('\0'));
    },
  } satisfies FuzzTarget<Buffer>,

  /** preparePassword (OpaqueString): PrecisError only, never echoing the input; the output is stable and prepared. */
  'saslprep / OpaqueString': {
    runs: 20_000,
    arbitrary: () => precisInput,
    check(s) {
      let out: string;
      try {
        out = preparePassword(s);
      } catch (e) {
        assert.ok(e instanceof PrecisError, `threw ${String(e)}`);
        if (s.length >= 6) assert.ok(!e.message.includes(s), 'error message contains the password');
        return;
      }
      assert.ok(out !== '' && out.isWellFormed());
      assert.equal(out, out.normalize('NFC'), 'not NFC');
      assert.ok(!/[\p{Cc}]|[^\P{Zs} ]/u.test(out), 'control or non-ASCII space left');
      assert.equal(preparePassword(out), out, 'not idempotent');
    },
  } satisfies FuzzTarget<string>,

  /** The other PRECIS entry points on the same inputs: PrecisError only, idempotent where they map. */
  'PRECIS UsernameCaseMapped, IDNA labels, derived properties': {
    runs: 20_000,
    arbitrary: () => fc.tuple(precisInput, fc.integer({ min: 0, max: 0x10ffff })),
    check([s, cp]) {
      const only = (fn: () => void): void => {
        try {
          fn();
        } catch (e) {
          assert.ok(e instanceof PrecisError, `threw ${String(e)}`);
        }
      };
      only(() => {
        const out = enforceUsernameCaseMapped(s);
        assert.equal(enforceUsernameCaseMapped(out), out, 'UsernameCaseMapped not idempotent');
      });
      only(() => checkIdnaLabel(s));
      assert.equal(widthMap(widthMap(s)), widthMap(s));
      assert.ok(['PVALID', 'CONTEXTJ', 'CONTEXTO', 'DISALLOWED', 'ID_DIS_OR_FREE_PVAL', 'UNASSIGNED'].includes(derivedProperty(cp)));
    },
  } satisfies FuzzTarget<[string, number]>,
};

const precisInput = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.array(fc.constantFrom('a', 'Σ', 'ß', 'İ', 'ﬀ', 'Ａ', '\u3000', '\u00a0', '\u200c', '\u200d', '\u0301', 'e', 'ا', '١', '۳', '\u00b7', 'l', '\u0375', '\u03b1', '\u05f3', '\u05d0', '\u30fb', '\u3041', '\ud800', '\u2028', '\u1100', '\u1161', '\u11a8', '\uac00', 'Ⅸ', '\u212b'), { maxLength: 12 }).map((a) => a.join('')),
);

fuzzTests(import.meta.url, targets);
