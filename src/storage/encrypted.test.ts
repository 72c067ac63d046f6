// Tests for encryption at rest (issue 3): the shared storage contract on the encrypted backend,
// then the raw database bytes: no user name, map key or value in clear, a wrong master key
// refused without touching the file, rotations, and values bound to their records.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Json } from '../core/storage.ts';
import { runStorageContract } from './backend.contract.ts';
import { EncryptedBackend, KeyError } from './encrypted.ts';
import { SqliteBackend } from './sqlite.ts';

const contractKey = randomBytes(32);
let contractDir: string | undefined;
runStorageContract(
  'encrypted sqlite (file)',
  async () => {
    contractDir = mkdtempSync(join(tmpdir(), 'jabberx-enc-contract-'));
    const path = join(contractDir, 'data.sqlite');
    return new EncryptedBackend({ inner: (codec) => new SqliteBackend({ path, codec }), masterKey: contractKey });
  },
  async () => {
    if (contractDir) rmSync(contractDir, { recursive: true, force: true });
    contractDir = undefined;
  },
);

runStorageContract('encrypted sqlite (:memory:)', async () => new EncryptedBackend({
  inner: (codec) => new SqliteBackend({ path: ':memory:', codec }),
  masterKey: contractKey,
}));

function sha256(path: string): string {
  return existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'absent';
}

/** Every database file, as bytes. */
function rawFiles(path: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const p of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    if (existsSync(p)) out.set(p, readFileSync(p));
  }
  return out;
}

/** Markers found in the raw files, in UTF-8 and in UTF-16 (SQLite could use either). */
function leaks(path: string, markers: string[]): string[] {
  const found: string[] = [];
  for (const [file, bytes] of rawFiles(path)) {
    for (const m of markers) {
      if (bytes.includes(Buffer.from(m, 'utf8')) || bytes.includes(Buffer.from(m, 'utf16le'))) found.push(`${m} in ${file}`);
    }
  }
  return found;
}

describe('EncryptedBackend (raw bytes, keys, rotation)', () => {
  let dir: string;
  let path: string;
  let key: Buffer;
  const opened: EncryptedBackend[] = [];
  const h = 'host.example';

  function backend(masterKey: Uint8Array | (() => Promise<Uint8Array>) = key): EncryptedBackend {
    return new EncryptedBackend({ inner: (codec) => new SqliteBackend({ path, codec }), masterKey });
  }

  async function open(masterKey: Uint8Array | (() => Promise<Uint8Array>) = key): Promise<EncryptedBackend> {
    const db = backend(masterKey);
    await db.open();
    opened.push(db);
    return db;
  }

  async function closeAll(): Promise<void> {
    for (const db of opened.splice(0)) await db.close();
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jabberx-enc-'));
    path = join(dir, 'data.sqlite');
    key = randomBytes(32);
  });

  afterEach(async () => {
    await closeAll();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes markers into every store kind: user names, map keys and values. */
  async function writeMarkers(db: EncryptedBackend, tag: string): Promise<string[]> {
    const user = `user${tag}U`;
    const contact = `contact${tag}K@example.org`;
    const markers = [user, contact, `vcard${tag}V`, `account${tag}V`, `roster${tag}V`, `offline${tag}V`, `namespace${tag}K`, `private${tag}V`];
    await db.keyval(h, 'vcard').set(user, { fn: `vcard${tag}V` });
    await db.keyval(h, 'accounts').set(user, { email: `account${tag}V` });
    await db.map(h, 'roster').set(user, contact, { name: `roster${tag}V` });
    await db.map(h, 'private').set(user, `namespace${tag}K`, `private${tag}V`);
    for (let i = 0; i < 5; i++) await db.archive(h, 'offline').append(user, `offline${tag}V #${i}`);
    // a large value spills into overflow pages
    await db.archive(h, 'offline').append(user, `offline${tag}V `.repeat(10_000));
    return markers;
  }

  it('leaves no user name, map key or value in clear in the database, WAL or shm', async () => {
    const db = await open();
    const markers = await writeMarkers(db, 'MARK7f3a');
    // while open, with the writes still in the WAL
    assert.deepEqual(leaks(path, markers), []);
    assert.ok(rawFiles(path).get(`${path}-wal`)?.includes(Buffer.from(h)), 'sanity: host names are in clear, so the WAL was read');
    await closeAll();
    assert.deepEqual(leaks(path, markers), []);
    assert.ok(readFileSync(path).includes(Buffer.from(h)), 'sanity: the database file was read');

    // and everything reads back with its real names
    const again = await open();
    const user = 'userMARK7f3aU';
    assert.deepEqual(await again.keyval(h, 'vcard').users(), [user]);
    assert.deepEqual(await again.keyval(h, 'vcard').get(user), { fn: 'vcardMARK7f3aV' });
    assert.deepEqual([...(await again.map(h, 'roster').getAll(user)).keys()], ['contactMARK7f3aK@example.org']);
    assert.equal(await again.archive(h, 'offline').count(user), 6);
    const exp = await again.exportUser(h, user);
    assert.equal(exp.user, user);
    assert.deepEqual(exp.map['roster'], { 'contactMARK7f3aK@example.org': { name: 'rosterMARK7f3aV' } });
    assert.equal(exp.archive['offline']?.[0]?.value, 'offlineMARK7f3aV #0');
  });

  it('hides who shares a contact: map key hashes differ per user, user hashes per host', async () => {
    const db = await open();
    await db.map(h, 'roster').set('alice', 'carol@example.org', 1);
    await db.map(h, 'roster').set('bob', 'carol@example.org', 1);
    await db.keyval(h, 's').set('alice', 1);
    await db.keyval('other.example', 's').set('alice', 1);
    await closeAll();
    const raw = new DatabaseSync(path, { readOnly: true });
    try {
      const roster = raw.prepare(`SELECT user, key FROM records WHERE store = 'roster'`).all();
      assert.equal(roster.length, 2);
      assert.notEqual(roster[0]?.['key'], roster[1]?.['key']);
      const users = raw.prepare(`SELECT DISTINCT user FROM records WHERE store = 's'`).all();
      assert.equal(users.length, 2);
      for (const row of [...roster, ...users]) {
        assert.match(String(row['user']), /^[A-Za-z0-9_-]{32}$/);
      }
    } finally {
      raw.close();
    }
  });

  it('refuses a wrong master key with KeyError and leaves the files unchanged; the right key finds everything', async () => {
    const db = await open();
    await writeMarkers(db, 'WK');
    await closeAll();
    const before = [sha256(path), sha256(`${path}-wal`)];

    await assert.rejects(backend(randomBytes(32)).open(), (err: unknown) => {
      assert.ok(err instanceof KeyError);
      assert.match(err.message, /master key does not match this database/);
      return true;
    });
    assert.deepEqual([sha256(path), sha256(`${path}-wal`)], before);

    // a key provider that fails: the database is not even opened
    await assert.rejects(backend(async () => { throw new KeyError('no key'); }).open(), /no key/);
    // a key of the wrong size
    await assert.rejects(backend(randomBytes(16)).open(), KeyError);
    assert.deepEqual([sha256(path), sha256(`${path}-wal`)], before);

    const again = await open();
    assert.deepEqual(await again.keyval(h, 'vcard').get('userWKU'), { fn: 'vcardWKV' });
    assert.equal(await again.map(h, 'roster').get('userWKU', 'contactWKK@example.org') !== undefined, true);
    assert.equal((await again.archive(h, 'offline').list('userWKU')).length, 6);
  });

  it('wipes a master key it loaded itself, but not one it was given', async () => {
    const given = Buffer.from(key);
    await open(given);
    assert.ok(given.equals(key));
    await closeAll();
    const loaded = Buffer.from(key);
    await open(async () => loaded);
    assert.ok(loaded.every((b) => b === 0));
  });

  it('rotateMasterKey: the running backend keeps working; reopening needs the new key', async () => {
    const db = await open();
    await db.keyval(h, 'vcard').set('alice', 'before');
    const newKey = randomBytes(32);
    await db.rotateMasterKey(newKey);
    assert.equal(await db.keyval(h, 'vcard').get('alice'), 'before');
    await db.keyval(h, 'vcard').set('bob', 'after');
    await closeAll();

    await assert.rejects(backend(key).open(), KeyError);
    const again = await open(newKey);
    assert.equal(await again.keyval(h, 'vcard').get('alice'), 'before');
    assert.equal(await again.keyval(h, 'vcard').get('bob'), 'after');
    await assert.rejects(again.rotateMasterKey(randomBytes(31)), KeyError);
  });

  it('rotateDataKey: new values use the new key, old ones stay readable', async () => {
    const db = await open();
    await db.keyval(h, 'vcard').set('alice', 'old');
    await db.archive(h, 'offline').append('alice', 'old message');
    assert.equal(db.keyInfo().active, 1);
    const [two, three] = await Promise.all([db.rotateDataKey(), db.rotateDataKey()]);
    assert.deepEqual([two, three], [2, 3]);
    assert.deepEqual(db.keyInfo().dataKeys.map((k) => k.id), [1, 2, 3]);
    await db.keyval(h, 'vcard').set('bob', 'new');
    await closeAll();

    const raw = new DatabaseSync(path, { readOnly: true });
    try {
      const ids = raw.prepare(`SELECT value FROM records WHERE store = 'vcard' ORDER BY rowid`).all()
        .map((r) => Buffer.from(r['value'] as Uint8Array).readUInt32BE(1));
      assert.deepEqual(ids, [1, 3]);
    } finally {
      raw.close();
    }
    const again = await open();
    assert.equal(again.keyInfo().active, 3);
    assert.equal(await again.keyval(h, 'vcard').get('alice'), 'old');
    assert.equal(await again.keyval(h, 'vcard').get('bob'), 'new');
    assert.deepEqual((await again.archive(h, 'offline').list('alice')).map((e) => e.value), ['old message']);
  });

  it('picks up a data key another process added, and keeps it when rotating itself', async () => {
    const a = await open();
    const b = await open();
    await b.rotateDataKey();
    await b.keyval(h, 'vcard').set('alice', 'sealed with key 2');
    assert.equal(await a.keyval(h, 'vcard').get('alice'), 'sealed with key 2');
    assert.equal(a.keyInfo().active, 2);
    await a.rotateDataKey(); // builds on the stored keyring: key 2 is not lost
    assert.deepEqual(a.keyInfo().dataKeys.map((k) => k.id), [1, 2, 3]);
    // after another process rotated the master key, a refuses to change the keyring
    await b.rotateMasterKey(randomBytes(32));
    await assert.rejects(a.rotateDataKey(), /rotated by another process/);
  });

  it('binds each value to its record: a value moved to another row never opens; it is quarantined, the rest is read', async () => {
    const db = await open();
    await db.keyval(h, 'vcard').set('alice', 'alice-secret');
    await db.keyval(h, 'vcard').set('mallory', 'mallory-own');
    await db.map(h, 'roster').set('alice', 'a@x', 'A');
    await db.map(h, 'roster').set('alice', 'b@x', 'B');
    const id1 = await db.archive(h, 'offline').append('alice', 'first');
    const id2 = await db.archive(h, 'offline').append('alice', 'second');
    await db.keyval('other.example', 'vcard').set('alice', 'elsewhere');
    await closeAll();

    // someone with write access to the file copies sealed values between rows
    const raw = new DatabaseSync(path);
    try {
      const vcards = raw.prepare(`SELECT rowid AS r FROM records WHERE host = ? AND store = 'vcard' ORDER BY rowid`).all(h)
        .map((row) => Number(row['r']));
      const roster = raw.prepare(`SELECT rowid AS r FROM records WHERE store = 'roster' ORDER BY rowid`).all()
        .map((row) => Number(row['r']));
      const copy = raw.prepare('UPDATE records SET value = (SELECT value FROM records WHERE rowid = ?) WHERE rowid = ?');
      copy.run(vcards[0] ?? 0, vcards[1] ?? 0); // alice's vCard into mallory's row
      copy.run(roster[0] ?? 0, roster[1] ?? 0); // alice's a@x item into her b@x row
      raw.prepare('UPDATE archive SET value = (SELECT value FROM archive WHERE id = ?) WHERE id = ?').run(Number(id1), Number(id2));
      // alice's vCard on the other host, moved with its user column into this host
      raw.exec(`UPDATE records SET host = '${h}', store = 'vcard2' WHERE host = 'other.example'`);
    } finally {
      raw.close();
    }

    const warnings: Record<string, unknown>[] = [];
    const log = { warn: (obj: Record<string, unknown>) => void warnings.push(obj) };
    const again = new EncryptedBackend({ inner: (codec) => new SqliteBackend({ path, codec, log }), masterKey: key, log });
    await again.open();
    opened.push(again);
    assert.equal(again.quarantined(), 0);
    assert.equal(await again.keyval(h, 'vcard').get('alice'), 'alice-secret');
    // mallory's row holds alice's sealed vCard: it fails authentication and is left out, never shown
    assert.equal(await again.keyval(h, 'vcard').get('mallory'), undefined);
    assert.equal(again.quarantined(), 1);
    assert.equal(await again.map(h, 'roster').get('alice', 'a@x'), 'A');
    assert.equal(await again.map(h, 'roster').get('alice', 'b@x'), undefined);
    assert.deepEqual([...(await again.map(h, 'roster').getAll('alice'))], [['a@x', 'A']]);
    assert.deepEqual((await again.archive(h, 'offline').list('alice')).map((e) => [e.id, e.value]), [[id1, 'first']]);
    // the moved row is unreachable by name (user hashes are per host) and left out when listed
    assert.equal(await again.keyval(h, 'vcard2').get('alice'), undefined);
    assert.deepEqual(await again.keyval(h, 'vcard2').users(), []);
    assert.deepEqual(await again.keyval(h, 'vcard').users(), ['alice']);
    const exp = await again.exportUser(h, 'alice');
    assert.deepEqual(exp.keyval, { vcard: 'alice-secret' });
    assert.deepEqual(exp.map, { roster: { 'a@x': 'A' } });
    assert.deepEqual(exp.archive['offline']?.map((e) => e.value), ['first']);
    // four damaged rows, each counted once however often it was read; the warnings name stores only
    assert.equal(again.quarantined(), 4);
    assert.equal(warnings.length, 4);
    assert.deepEqual(new Set(warnings.map((w) => w['store'])), new Set(['vcard', 'roster', 'offline', 'vcard2']));
    for (const w of warnings) {
      const text = JSON.stringify(w);
      for (const secret of ['alice', 'mallory', 'a@x', 'b@x', 'secret', 'first', 'second']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    }
  });

  it('quarantines a value with damaged bytes and keeps serving the others', async () => {
    const db = await open();
    const offline = db.archive<Json>(h, 'offline');
    const ids = [];
    for (const body of ['one', 'two', 'three']) ids.push(await offline.append('juliet', { body }));
    await db.keyval(h, 'vcard').set('juliet', { fn: 'Juliet' });
    await db.keyval(h, 'vcard').set('romeo', { fn: 'Romeo' });
    await closeAll();

    const raw = new DatabaseSync(path);
    try {
      const flip = (sql: string, ...args: (string | number)[]) => {
        const row = raw.prepare(`SELECT rowid AS r, value FROM ${sql}`).get(...args);
        const bytes = Buffer.from(row?.['value'] as Uint8Array);
        bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0xff;
        raw.prepare(`UPDATE ${sql.split(' ')[0]} SET value = ? WHERE rowid = ?`).run(bytes, Number(row?.['r']));
      };
      flip('archive WHERE id = ?', Number(ids[1]));
      // romeo's vCard: the second vcard row written
      flip(`records WHERE store = 'vcard' ORDER BY rowid DESC LIMIT 1`);
    } finally {
      raw.close();
    }

    const again = await open();
    assert.deepEqual((await again.archive<Json>(h, 'offline').list('juliet')).map((e) => e.value), [{ body: 'one' }, { body: 'three' }]);
    assert.equal(await again.archive(h, 'offline').count('juliet'), 3, 'the damaged entry stays stored until deleted or purged');
    assert.deepEqual(await again.keyval(h, 'vcard').users(), ['juliet']);
    assert.equal(await again.keyval(h, 'vcard').get('romeo'), undefined);
    assert.equal(again.quarantined(), 2);
    await again.archive(h, 'offline').deleteAll('juliet');
    assert.equal(await again.archive(h, 'offline').count('juliet'), 0);
  });

  it('quarantines a value naming a data key that even a reloaded keyring lacks', async () => {
    const db = await open();
    await db.map(h, 'roster').set('alice', 'a@x', 'A');
    await db.map(h, 'roster').set('alice', 'b@x', 'B');
    await closeAll();
    const raw = new DatabaseSync(path);
    try {
      const row = raw.prepare(`SELECT rowid AS r, value FROM records WHERE store = 'roster' ORDER BY rowid LIMIT 1`).get();
      const bytes = Buffer.from(row?.['value'] as Uint8Array);
      bytes.writeUInt32BE(0x7000_0001, 1); // the key id in the sealed header
      raw.prepare('UPDATE records SET value = ? WHERE rowid = ?').run(bytes, Number(row?.['r']));
    } finally {
      raw.close();
    }
    const again = await open();
    const all = await again.map(h, 'roster').getAll('alice');
    assert.equal(all.size, 1);
    assert.equal(again.quarantined(), 1);
    // a data key added by another process is still picked up (retry, not quarantine)
    const other = await open();
    await other.rotateDataKey();
    await other.map(h, 'roster').set('alice', 'c@x', 'C');
    assert.equal((await again.map(h, 'roster').getAll('alice')).get('c@x'), 'C');
    assert.equal(again.quarantined(), 1);
  });

  it('never replaces a keyring row it cannot read: start is refused', async () => {
    const db = await open();
    await db.keyval(h, 'vcard').set('alice', 'x');
    await closeAll();
    const raw = new DatabaseSync(path);
    try {
      raw.exec(`UPDATE records SET value = CAST('{"not json' AS BLOB) WHERE host = '' AND store = '_keyring'`);
    } finally {
      raw.close();
    }
    const before = sha256(path);
    await assert.rejects(backend().open(), (err: unknown) => err instanceof KeyError && /keyring stored in the database is damaged/.test(err.message));
    assert.equal(sha256(path), before);
  });

  it('reports a damaged keyring clearly; skips an unencrypted value', async () => {
    const db = await open();
    await db.keyval(h, 'vcard').set('alice', 'x');
    await closeAll();
    const raw = new DatabaseSync(path);
    try {
      raw.exec(`UPDATE records SET value = CAST('{"u":"alice","v":"plain"}' AS BLOB) WHERE store = 'vcard'`);
    } finally {
      raw.close();
    }
    const again = await open();
    // an unencrypted value is never taken for data: quarantined like any damaged value
    assert.equal(await again.keyval(h, 'vcard').get('alice'), undefined);
    assert.equal(again.quarantined(), 1);
    await closeAll();

    const raw2 = new DatabaseSync(path);
    try {
      const row = raw2.prepare(`SELECT value FROM records WHERE host = '' AND store = '_keyring'`).get();
      const ring = JSON.parse(Buffer.from(row?.['value'] as Uint8Array).toString('utf8')) as { keys: { wrapped: string }[] };
      const wrapped = Buffer.from(ring.keys[0]?.wrapped ?? '', 'base64');
      wrapped[wrapped.length - 1] = (wrapped[wrapped.length - 1] ?? 0) ^ 1;
      (ring.keys[0] as { wrapped: string }).wrapped = wrapped.toString('base64');
      raw2.prepare(`UPDATE records SET value = ? WHERE host = '' AND store = '_keyring'`).run(Buffer.from(JSON.stringify(ring)));
    } finally {
      raw2.close();
    }
    await assert.rejects(backend().open(), /keyring stored in the database is damaged/);
  });

  it('reserves the empty host name for the keyring', async () => {
    const db = await open();
    assert.throws(() => db.keyval('', '_keyring'), /reserved/);
    assert.throws(() => db.map('', 's'), /reserved/);
    assert.throws(() => db.archive('', 's'), /reserved/);
    await assert.rejects(db.exportUser('', '_'), /reserved/);
    await assert.rejects(db.deleteUser('', '_'), /reserved/);
  });

  it('rejects calls before open and after close', async () => {
    const db = backend();
    const kv = db.keyval<Json>(h, 's');
    await assert.rejects(kv.get('alice'), /not open/);
    await db.open();
    await kv.set('alice', 1);
    assert.equal(db.kind, 'encrypted-sqlite');
    await db.close();
    await assert.rejects(kv.get('alice'), /not open/);
    await assert.rejects(db.archive(h, 'a').purgeOlderThan(new Date()), /not open/);
    await assert.rejects(db.rotateDataKey(), /not open/);
  });
});
