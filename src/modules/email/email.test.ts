// The e-mail module's parts: address syntax, the keyed-hash index (found by address, gone with
// the address or the account), single-use expiring reset tokens, bounded request limits.
import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend } from '../../storage/memory.ts';
import { testStorage } from '../../storage/test-storage.ts';
import type { EncryptedBackend } from '../../storage/encrypted.ts';
import { AddressBook, MAX_ACCOUNTS_PER_ADDRESS, type EmailRecord } from './address-book.ts';
import { checkEmailAddress } from './email-syntax.ts';
import { ResetTokens } from './reset-tokens.ts';
import { RequestLimits } from './request-limits.ts';
import { resetMail } from './reset-mail.ts';

describe('checkEmailAddress', () => {
  it('takes common addresses, trimmed', () => {
    assert.deepEqual(checkEmailAddress('  Alice.B+chat@mail.example.org '), { address: 'Alice.B+chat@mail.example.org' });
    assert.deepEqual(checkEmailAddress('x@xn--bcher-kva.example'), { address: 'x@xn--bcher-kva.example' });
  });
  it('refuses what a mail server would not take', () => {
    for (const bad of ['', 'alice', '@example.org', 'alice@', 'alice@localhost', 'a b@example.org', 'a..b@example.org', 'a@-x.org', 'a@1.2.3.4', `${'a'.repeat(65)}@example.org`, 'a@b@example.org', '"q"@example.org']) {
      assert.ok('error' in checkEmailAddress(bad), bad);
    }
  });
});

describe('AddressBook', () => {
  let storage: EncryptedBackend;
  let book: AddressBook;
  beforeEach(async () => {
    storage = testStorage(new MemoryBackend());
    await storage.open();
    book = new AddressBook({
      addresses: storage.keyval<EmailRecord>('h', 'email'),
      index: storage.keyval<string[]>('h', 'email_index'),
      owners: storage.keyval<string>('h', 'email_owner'),
      key: storage.keyval<string>('h', 'email_key'),
    }, 'h');
  });

  it('finds accounts by address, case-insensitively, and forgets a replaced address', async () => {
    assert.equal(await book.set('alice', 'Alice@Example.org'), true);
    assert.deepEqual(await book.find('alice@example.org'), [{ user: 'alice', address: 'Alice@Example.org' }]);
    await book.set('alice', 'new@example.org');
    assert.deepEqual(await book.find('alice@example.org'), []);
    assert.deepEqual((await book.find('new@example.org')).map((f) => f.user), ['alice']);
    assert.equal(await book.get('alice'), 'new@example.org');
  });

  it('keeps no index entry once the address is removed, or the account deleted', async () => {
    await book.set('alice', 'a@example.org');
    await book.set('bob', 'b@example.org');
    await book.remove('alice');
    // Deletion erases every record the account owns first; the hook then removes the rest.
    await storage.deleteUser('h', 'bob');
    await book.remove('bob');
    assert.deepEqual(await storage.keyval('h', 'email_index').users(), []);
    assert.deepEqual(await storage.keyval('h', 'email_owner').users(), []);
    assert.deepEqual(await storage.keyval('h', 'email').users(), []);
  });

  it('bounds the accounts of one address', async () => {
    for (let i = 0; i < MAX_ACCOUNTS_PER_ADDRESS; i++) assert.equal(await book.set(`u${i}`, 'same@example.org'), true);
    assert.equal(await book.set('one-more', 'same@example.org'), false);
    assert.equal(await book.get('one-more'), undefined);
  });

  it('never stores the address in the index or owner keys', async () => {
    await book.set('alice', 'a@example.org');
    const keys = [...(await storage.keyval('h', 'email_index').users()), ...(await storage.keyval('h', 'email_owner').users())];
    assert.ok(keys.every((k) => !k.includes('example') && !k.includes('alice')), keys.join(','));
  });
});

describe('ResetTokens', () => {
  it('is single-use, expires, and one new token replaces the previous one', () => {
    const tokens = new ResetTokens(60_000);
    const first = tokens.issue('alice', 0);
    const second = tokens.issue('alice', 1);
    assert.equal(tokens.peek(first, 2), undefined);
    assert.equal(tokens.peek(second, 2), 'alice');
    assert.equal(tokens.redeem(second, 3), 'alice');
    assert.equal(tokens.redeem(second, 4), undefined);
    const late = tokens.issue('bob', 10);
    assert.equal(tokens.redeem(late, 10 + 60_000), undefined);
    assert.ok(Buffer.from(late, 'base64url').length >= 32);
  });
});

describe('RequestLimits', () => {
  it('refuses past the limit for any key, without counting the refused request', () => {
    const limits = new RequestLimits(2, 1000);
    assert.equal(limits.allow(['a', 'x'], 0), true);
    assert.equal(limits.allow(['a', 'y'], 0), true);
    assert.equal(limits.allow(['a', 'z'], 0), false);
    assert.equal(limits.allow(['b', 'z'], 0), true, 'z was not counted by the refusal');
    assert.equal(limits.allow(['a'], 1000), true, 'the window ended');
  });
});

describe('resetMail', () => {
  it('holds the link and the account, nothing else', () => {
    const m = resetMail({ to: 'a@example.org', jid: 'alice@h', link: 'https://h/account/reset?token=T', lifetimeMs: 3_600_000 });
    assert.match(m.text, /https:\/\/h\/account\/reset\?token=T/);
    assert.match(m.text, /within 1 hour/);
    assert.doesNotMatch(m.text, /a@example\.org/);
  });
});
