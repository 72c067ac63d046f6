// The pure rules of the upload module: byte ranges (RFC 9110 §14), Content-Disposition
// (RFC 6266), file names, and the bounded slots.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { contentDisposition, parseRange } from './http.ts';
import { sanitizeFilename } from './index.ts';
import { Slots } from './slots.ts';

it('parses one byte range; several, malformed or reversed ones mean the whole file', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=90-200', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=95-', 100), { start: 95, end: 99 });
  assert.deepEqual(parseRange('bytes=-5', 100), { start: 95, end: 99 });
  assert.deepEqual(parseRange('bytes=-500', 100), { start: 0, end: 99 });
  assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
  assert.equal(parseRange('bytes=-0', 100), 'unsatisfiable');
  assert.equal(parseRange('bytes=0-0', 0), 'unsatisfiable');
  for (const whole of [undefined, '', 'bytes=0-1,4-5', 'items=0-1', 'bytes=5-2', 'bytes=-', 'bytes=a-b']) assert.equal(parseRange(whole, 100), undefined, String(whole));
});

it('names the file in Content-Disposition with an ASCII fallback and the exact name (RFC 8187)', () => {
  assert.equal(contentDisposition('inline', 'a.png'), `inline; filename="a.png"; filename*=UTF-8''a.png`);
  assert.equal(contentDisposition('attachment', 'ünï "x".txt'), `attachment; filename="_n_ _x_.txt"; filename*=UTF-8''%C3%BCn%C3%AF%20%22x%22.txt`);
  assert.equal(contentDisposition('attachment', "it's (1).txt"), `attachment; filename="it's (1).txt"; filename*=UTF-8''it%27s%20%281%29.txt`);
});

it('keeps the last path component of a file name, without control or direction characters', () => {
  assert.equal(sanitizeFilename('../../etc/passwd'), 'passwd');
  assert.equal(sanitizeFilename('C:\\Users\\me\\photo.jpg'), 'photo.jpg');
  assert.equal(sanitizeFilename('evil\u202egnp.exe'), 'evilgnp.exe');
  assert.equal(sanitizeFilename(' a\nb.txt '), 'ab.txt');
  assert.equal(sanitizeFilename('x'.repeat(300) + '.txt')?.length, 255);
  for (const bad of ['', '/', 'a/', '..', '.', '\u0001']) assert.equal(sanitizeFilename(bad), undefined, JSON.stringify(bad));
});

it('bounds the pending slots per user; a slot is taken once', () => {
  const slots = new Slots(2, 60_000);
  const a = slots.create({ owner: 'alice', name: 'a', size: 1, type: '' });
  slots.create({ owner: 'alice', name: 'b', size: 2, type: '' });
  assert.deepEqual(slots.create({ owner: 'alice', name: 'c', size: 1, type: '' }), { full: 'user' });
  assert.ok('token' in slots.create({ owner: 'bob', name: 'c', size: 1, type: '' }));
  assert.equal(slots.reserved('alice'), 3);
  assert.ok('token' in a);
  assert.equal(slots.take(a.token)?.name, 'a');
  assert.equal(slots.take(a.token), undefined);
  assert.ok(slots.isUploading(a.token));
  assert.equal(slots.reserved('alice'), 3, 'an upload under way still counts');
  slots.done(a.token);
  assert.equal(slots.reserved('alice'), 2);
  assert.ok('token' in slots.create({ owner: 'alice', name: 'd', size: 1, type: '' }));
});
