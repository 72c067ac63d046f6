import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPassword, checkUsername, DEFAULT_RESERVED_USERNAMES, isCommonPassword } from './registration-rules.ts';

const rules = { reservedUsernames: DEFAULT_RESERVED_USERNAMES, maxUsernameLength: 32, minPasswordLength: 8 };

test('usernames: prepared, bounded, reserved names refused', () => {
  assert.deepEqual(checkUsername('Alice', rules), { user: 'alice' });
  assert.ok('reason' in checkUsername('admin', rules));
  assert.ok('reason' in checkUsername('Post.Master', rules));
  assert.ok('reason' in checkUsername('a'.repeat(33), rules));
  assert.deepEqual(checkUsername('a'.repeat(32), rules), { user: 'a'.repeat(32) });
  assert.ok('reason' in checkUsername('a b', rules));
  assert.ok('reason' in checkUsername('', rules));
});

test('passwords: length, common ones and their variants, the username', () => {
  assert.equal(checkPassword('correct horse battery', rules), undefined);
  assert.match(checkPassword('short', rules) ?? '', /at least 8/);
  assert.match(checkPassword('password123', rules) ?? '', /common/);
  assert.ok(isCommonPassword('P@ssw0rd2024!'));
  assert.ok(isCommonPassword('Sunshine1'));
  assert.ok(!isCommonPassword('vq7-tundra-glib'));
  assert.match(checkPassword('aaaaaaaaaa', rules) ?? '', /repeat/);
  assert.match(checkPassword('alice-is-great', rules, 'alice') ?? '', /username/);
  assert.match(checkPassword('bell\u0007character', rules) ?? '', /cannot be used/);
});
