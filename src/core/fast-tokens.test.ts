// XEP-0484 FAST token rules on the store itself: the two slots of §5.1, rotation (§4.4), binding
// to the mechanism and the channel (§4.3), the replay counter, expiry, the bound per account,
// invalidation, and revocation with a password change (Accounts.setPassword).
import { afterEach, beforeEach, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { MemoryBackend } from '../storage/memory.ts';
import { testStorage } from '../storage/test-storage.ts';
import type { EncryptedBackend } from '../storage/encrypted.ts';
import { FAST_STORE, FastTokens, revokeFastTokens } from './fast-tokens.ts';
import { Accounts } from './accounts.ts';

const HOST = 'example.org';
const DAY = 86_400_000;
const NONE = 'HT-SHA-256-NONE';
const EXPR = 'HT-SHA-256-EXPR';

/** What a client sends: HMAC keyed by the token text (draft-schmaus-kitten-sasl-ht §3.1). */
const proof = (token: string, cb: Buffer = Buffer.alloc(0)): Buffer => createHmac('sha256', token).update('Initiator').update(cb).digest();

describe('FAST tokens at rest', () => {
  let storage: EncryptedBackend;
  let fast: FastTokens;
  let client: string;

  beforeEach(async () => {
    storage = testStorage(new MemoryBackend());
    await storage.open();
    fast = new FastTokens(storage, randomBytes(32), { lifetimeMs: 14 * DAY, rotateAfterMs: DAY, maxClients: 3 });
    client = fast.clientKey(HOST, 'alice', 'd4565fa7-4d72-4749-b3d3-740edbf87770');
  });
  afterEach(() => storage.close());

  const verify = (token: string, opts: { mech?: string; cb?: Buffer; who?: string; count?: number } = {}) =>
    fast.verify(HOST, 'alice', opts.who ?? client, opts.mech ?? NONE, proof(token, opts.cb), opts.cb ?? Buffer.alloc(0), opts.count);

  it('a client key is per account and hides the user-agent id', () => {
    const id = 'd4565fa7-4d72-4749-b3d3-740edbf87770';
    assert.notEqual(fast.clientKey(HOST, 'bob', id), client);
    assert.ok(!client.includes('d4565fa7'));
    assert.equal(fast.clientKey(HOST, 'alice', id), client, 'stable');
  });

  it('§4.2/§4.3: an issued token logs in with its mechanism and channel binding, and the responder hash proves the server knows it', async () => {
    const cb = Buffer.from('exporter bytes');
    const { token, expiry } = await fast.issue(HOST, 'alice', client, EXPR);
    assert.match(expiry, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const ok = await verify(token, { mech: EXPR, cb });
    assert.ok(ok.ok);
    assert.deepEqual(ok.responder, createHmac('sha256', token).update('Responder').update(cb).digest());
    assert.equal(ok.rotate, false);
    assert.deepEqual(await verify(token, { mech: NONE }), { ok: false, condition: 'not-authorized', text: 'This token was issued for another mechanism', counts: 'binding' }, 'no downgrade to NONE');
    // The proof was made over this channel; the server sees another (a relayed login).
    assert.equal((await fast.verify(HOST, 'alice', client, EXPR, proof(token, cb), Buffer.from('another channel'), undefined)).ok, false, 'another TLS channel');
    assert.equal((await verify(token, { mech: EXPR, cb, who: fast.clientKey(HOST, 'alice', 'another-client') })).ok, false, 'another client');
    assert.equal((await verify('x'.repeat(86), { mech: EXPR, cb })).ok, false, 'a wrong token');
  });

  it('§4.4/§5.1: a new token waits beside the old one; using the new one invalidates the old', async () => {
    const t1 = (await fast.issue(HOST, 'alice', client, NONE)).token;
    assert.ok((await verify(t1)).ok);
    const t2 = (await fast.issue(HOST, 'alice', client, NONE)).token;
    assert.ok((await verify(t1)).ok, 'the old token still works until the new one is used');
    assert.ok((await verify(t2)).ok);
    assert.equal((await verify(t1)).ok, false, 'the old token is gone once the new one was used');
    assert.ok((await verify(t2)).ok);
    // §4.4: a token generated and never used is replaced by the next one.
    const t3 = (await fast.issue(HOST, 'alice', client, NONE)).token;
    const t4 = (await fast.issue(HOST, 'alice', client, NONE)).token;
    assert.equal((await verify(t3)).ok, false);
    assert.ok((await verify(t4)).ok);
  });

  it('§4.4: a token older than rotate_after is due for replacement', async (t: TestContext) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const { token } = await fast.issue(HOST, 'alice', client, NONE);
    const first = await verify(token);
    assert.ok(first.ok && !first.rotate);
    t.mock.timers.tick(DAY + 1000);
    const later = await verify(token);
    assert.ok(later.ok && later.rotate);
  });

  it('§6.2: an expired token fails with credentials-expired, and expired tokens are purged', async (t: TestContext) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const { token } = await fast.issue(HOST, 'alice', client, NONE);
    t.mock.timers.tick(14 * DAY + 1);
    const r = await verify(token);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.condition, 'credentials-expired');
    await fast.issue(HOST, 'alice', fast.clientKey(HOST, 'alice', 'old'), NONE);
    t.mock.timers.tick(14 * DAY + 1);
    assert.equal(await fast.purgeExpired(HOST), 1);
    assert.equal(await storage.keyval(HOST, FAST_STORE).get('alice'), undefined, 'nothing left of the account');
  });

  it('§4.3: a count must grow from one login to the next', async () => {
    const { token } = await fast.issue(HOST, 'alice', client, NONE);
    assert.ok((await verify(token, { count: 5 })).ok);
    const replay = await verify(token, { count: 5 });
    assert.equal(!replay.ok && replay.condition, 'not-authorized');
    assert.ok((await verify(token, { count: 6 })).ok);
    assert.ok((await verify(token)).ok, 'without a count (no 0-RTT) it is not needed');
  });

  it('bounded: past max_clients_per_account the client whose tokens expire first goes', async (t: TestContext) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const tokens: string[] = [];
    for (let i = 0; i < 4; i++) {
      tokens.push((await fast.issue(HOST, 'alice', fast.clientKey(HOST, 'alice', `c${i}`), NONE)).token);
      t.mock.timers.tick(1000);
    }
    const works = async (i: number) => (await verify(tokens[i] ?? '', { who: fast.clientKey(HOST, 'alice', `c${i}`) })).ok;
    assert.deepEqual([await works(0), await works(1), await works(2), await works(3)], [false, true, true, true]);
  });

  it('§4.5: invalidation removes the client; revocation removes the account', async () => {
    const { token } = await fast.issue(HOST, 'alice', client, NONE);
    await fast.invalidate(HOST, 'alice', client);
    assert.equal((await verify(token)).ok, false);
    await fast.issue(HOST, 'alice', client, NONE);
    await fast.issue(HOST, 'alice', fast.clientKey(HOST, 'alice', 'other'), NONE);
    assert.equal(await revokeFastTokens(storage, HOST, 'alice'), 2);
    assert.equal(await revokeFastTokens(storage, HOST, 'alice'), 0);
  });

  it('a password change revokes every token of the account, in the same transaction', async () => {
    const accounts = new Accounts(storage, 4096);
    await accounts.create(HOST, 'alice', 'old password');
    const { token } = await fast.issue(HOST, 'alice', client, NONE);
    await fast.issue(HOST, 'bob', fast.clientKey(HOST, 'bob', 'x'), NONE);
    await accounts.setPassword(HOST, 'alice', 'new password');
    assert.equal((await verify(token)).ok, false);
    assert.notEqual(await storage.keyval(HOST, FAST_STORE).get('bob'), undefined, "another account's tokens stay");
  });

  it('only hashes at rest: no token text in any stored value', async () => {
    const { token } = await fast.issue(HOST, 'alice', client, NONE);
    const stored = JSON.stringify(await storage.exportUser(HOST, 'alice'));
    assert.ok(stored.includes('"key"'));
    assert.ok(!stored.includes(token));
    assert.ok(!stored.includes(Buffer.from(token).toString('base64')));
  });
});
