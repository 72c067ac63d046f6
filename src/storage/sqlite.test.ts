// Tests for the SQLite storage backend: the shared contract plus file-level privacy properties
// (codec at rest, AAD binding, secure deletion, file modes) and schema migrations.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { spawn } from 'node:child_process';
import { StorageBusyError, recordAad, type Json, type ValueCodec } from '../core/storage.ts';
import { runStorageContract } from './backend.contract.ts';
import { migrateSqlite, sqliteMigrations, sqliteSchemaVersion } from './migrations.ts';
import { SqliteBackend } from './sqlite.ts';

let contractDir: string | undefined;
runStorageContract(
  'sqlite (file)',
  async () => {
    contractDir = mkdtempSync(join(tmpdir(), 'jabberx-sqlite-contract-'));
    return new SqliteBackend({ path: join(contractDir, 'data.sqlite') });
  },
  async () => {
    if (contractDir) rmSync(contractDir, { recursive: true, force: true });
    contractDir = undefined;
  },
);

runStorageContract('sqlite (:memory:)', async () => new SqliteBackend({ path: ':memory:' }));

/** Toy codec: XOR every byte, so plaintext never appears verbatim in the file. */
const xorCodec: ValueCodec = {
  encode: (plain) => plain.map((b) => b ^ 0x5a),
  decode: (sealed) => sealed.map((b) => b ^ 0x5a),
};

/** Toy AAD-binding codec: prefixes a hash of the AAD and refuses to open under another AAD. */
function aadTag(aad: string): Uint8Array {
  return createHash('sha256').update(aad).digest().subarray(0, 8);
}
const bindingCodec: ValueCodec = {
  encode: (plain, aad) => {
    const out = new Uint8Array(8 + plain.length);
    out.set(aadTag(aad));
    out.set(xorCodec.encode(plain, aad), 8);
    return out;
  },
  decode: (sealed, aad) => {
    if (!Buffer.from(sealed.subarray(0, 8)).equals(aadTag(aad))) throw new Error('aad mismatch');
    return xorCodec.decode(sealed.subarray(8), aad);
  },
};

function fileContains(path: string, marker: string): boolean {
  return existsSync(path) && readFileSync(path).includes(Buffer.from(marker, 'utf8'));
}

describe('SqliteBackend (SQLite specifics)', () => {
  let dir: string;
  let path: string;
  const open: SqliteBackend[] = [];

  async function make(codec?: ValueCodec): Promise<SqliteBackend> {
    const db = new SqliteBackend(codec ? { path, codec } : { path });
    await db.open();
    open.push(db);
    return db;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jabberx-sqlite-'));
    path = join(dir, 'data.sqlite');
  });

  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets the pragmas', async () => {
    const db = await make();
    assert.deepEqual(db.settings(), {
      // SQLite's own (blocking) wait is a few ms; longer waits are retried from timers (see below).
      journalMode: 'wal', synchronous: 1, secureDelete: 1, foreignKeys: 1, busyTimeoutMs: 5,
    });
    // journal_mode is persistent in the file: a fresh connection sees it too
    const raw = new DatabaseSync(path);
    try {
      assert.equal(raw.prepare('PRAGMA journal_mode').get()?.['journal_mode'], 'wal');
    } finally {
      raw.close();
    }
  });

  it('applies the codec: values are not stored in plain text', async () => {
    const marker = 'PLAINMARKER-7f3a';
    const db = await make(xorCodec);
    await db.keyval('h.example', 'vcard').set('alice', { note: marker });
    await db.map('h.example', 'roster').set('alice', 'bob@x', { name: marker });
    await db.archive('h.example', 'offline').append('alice', marker);
    // before the checkpoint the data sits in the WAL; after it, in the main file
    assert.equal(fileContains(path + '-wal', marker), false);
    await db.checkpoint();
    assert.equal(fileContains(path, marker), false);
    assert.equal(fileContains(path + '-wal', marker), false);
    assert.deepEqual(await db.keyval('h.example', 'vcard').get('alice'), { note: marker });
    assert.deepEqual(await db.map('h.example', 'roster').get('alice', 'bob@x'), { name: marker });
    assert.deepEqual((await db.archive('h.example', 'offline').list('alice'))[0]?.value, marker);

    // sanity check of the test itself: without a codec the marker is visible
    const plainPath = join(dir, 'plain.sqlite');
    const plain = new SqliteBackend({ path: plainPath });
    await plain.open();
    await plain.keyval('h.example', 'vcard').set('alice', marker);
    await plain.close();
    assert.equal(fileContains(plainPath, marker), true);
  });

  it('passes the record identity as AAD', async () => {
    const seen: { op: string; aad: string }[] = [];
    const recording: ValueCodec = {
      encode: (plain, aad) => { seen.push({ op: 'encode', aad }); return plain; },
      decode: (sealed, aad) => { seen.push({ op: 'decode', aad }); return sealed; },
    };
    const db = await make(recording);
    const h = 'h.example';
    await db.keyval(h, 'vcard').set('alice', 1);
    await db.keyval(h, 'vcard').get('alice');
    await db.map(h, 'roster').set('alice', 'bob@x', 2);
    await db.map(h, 'roster').get('alice', 'bob@x');
    await db.map(h, 'roster').getAll('alice');
    const id = await db.archive(h, 'offline').append('alice', 3);
    await db.archive(h, 'offline').list('alice');
    const kv = recordAad('keyval', h, 'alice', 'vcard', '');
    const mp = recordAad('map', h, 'alice', 'roster', 'bob@x');
    const ar = recordAad('archive', h, 'alice', 'offline', id);
    assert.deepEqual(seen, [
      { op: 'encode', aad: kv }, { op: 'decode', aad: kv },
      { op: 'encode', aad: mp }, { op: 'decode', aad: mp }, { op: 'decode', aad: mp },
      { op: 'encode', aad: ar }, { op: 'decode', aad: ar },
    ]);
    seen.length = 0;
    await db.exportUser(h, 'alice');
    assert.deepEqual(seen.map((s) => s.aad).sort(), [ar, kv, mp].sort());
  });

  it('binds sealed values to their record: a moved value does not open (it is quarantined)', async () => {
    const h = 'h.example';
    let db = await make(bindingCodec);
    await db.keyval(h, 'vcard').set('alice', 'alice-secret');
    await db.keyval(h, 'vcard').set('mallory', 'mallory-own');
    await db.map(h, 'roster').set('alice', 'a', 'A');
    await db.map(h, 'roster').set('alice', 'b', 'B');
    const id1 = await db.archive(h, 'offline').append('alice', 'first');
    const id2 = await db.archive(h, 'offline').append('alice', 'second');
    await db.close();
    open.length = 0;

    // someone with write access to the file swaps sealed values between records
    const raw = new DatabaseSync(path);
    raw.exec(`UPDATE records SET value = (SELECT value FROM records WHERE user = 'alice' AND store = 'vcard')
              WHERE user = 'mallory'`);
    raw.exec(`UPDATE records SET value = (SELECT value FROM records WHERE key = 'a') WHERE key = 'b'`);
    raw.prepare('UPDATE archive SET value = (SELECT value FROM archive WHERE id = ?) WHERE id = ?').run(Number(id1), Number(id2));
    raw.close();

    db = await make(bindingCodec);
    assert.equal(await db.keyval(h, 'vcard').get('alice'), 'alice-secret');
    assert.equal(await db.keyval(h, 'vcard').get('mallory'), undefined);
    assert.equal(await db.map(h, 'roster').get('alice', 'a'), 'A');
    assert.equal(await db.map(h, 'roster').get('alice', 'b'), undefined);
    assert.deepEqual((await db.archive(h, 'offline').list('alice')).map((e) => e.value), ['first']);
    assert.equal(db.quarantined(), 3);
  });

  it('leaves no trace of deleted data in the database or WAL file', async () => {
    const marker = 'SECRETMARKER-c0ffee';
    const h = 'h.example';
    const user = `user-${marker}`;
    const db = await make(); // identity codec: the marker would be visible if not erased
    await db.keyval(h, 'vcard').set(user, { fn: marker });
    await db.keyval(h, 'accounts').set(user, marker);
    await db.map(h, 'roster').set(user, `contact-${marker}@x`, { name: marker });
    for (let i = 0; i < 20; i++) await db.archive(h, 'offline').append(user, `${marker} #${i}`);
    // a value spilling into overflow pages
    await db.archive(h, 'offline').append(user, `${marker} `.repeat(20_000));
    // unrelated data that must survive
    await db.keyval(h, 'vcard').set('bob', { fn: 'KEEPME-bob' });
    await db.checkpoint();
    assert.equal(fileContains(path, marker), true); // sanity: the data was on disk

    await db.deleteUser(h, user);
    await db.close();
    open.length = 0;
    assert.equal(fileContains(path, marker), false, 'marker left in the database file');
    assert.equal(fileContains(path + '-wal', marker), false, 'marker left in the WAL file');
    assert.equal(fileContains(path + '-shm', marker), false, 'marker left in the shm file');
    assert.equal(fileContains(path, 'KEEPME-bob'), true);
  });

  it('erases overwritten and individually deleted values too', async () => {
    const h = 'h.example';
    const db = await make();
    await db.keyval(h, 'vcard').set('alice', 'OLDVALUE-1111');
    await db.keyval(h, 'vcard').set('alice', 'NEWVALUE-2222');
    await db.map(h, 'roster').set('alice', 'k', 'MAPVALUE-3333');
    await db.map(h, 'roster').delete('alice', 'k');
    const id = await db.archive(h, 'offline').append('alice', 'ARCHIVED-4444');
    await db.archive(h, 'offline').delete('alice', [id]);
    await db.archive(h, 'offline').append('alice', 'PURGED-5555', new Date(0));
    assert.equal(await db.archive(h, 'offline').purgeOlderThan(new Date(1)), 1);
    await db.checkpoint();
    assert.equal(statSync(path + '-wal').size, 0, 'checkpoint truncates the WAL');
    for (const gone of ['OLDVALUE-1111', 'MAPVALUE-3333', 'ARCHIVED-4444', 'PURGED-5555']) {
      assert.equal(fileContains(path, gone), false, `${gone} left in the database file`);
      assert.equal(fileContains(path + '-wal', gone), false, `${gone} left in the WAL`);
    }
    assert.equal(fileContains(path, 'NEWVALUE-2222'), true);
  });

  it('keeps data across reopening; migrations are idempotent', async () => {
    const h = 'h.example';
    let db = await make(xorCodec);
    await db.keyval(h, 'vcard').set('alice', { fn: 'Ålice' });
    await db.map(h, 'roster').set('alice', 'bob@x', 1);
    const id = await db.archive(h, 'offline').append('alice', 'hi', new Date(1000));
    await db.close();
    open.length = 0;

    db = await make(xorCodec);
    assert.deepEqual(await db.keyval(h, 'vcard').get('alice'), { fn: 'Ålice' });
    assert.equal(await db.map(h, 'roster').get('alice', 'bob@x'), 1);
    assert.deepEqual(await db.archive(h, 'offline').list('alice'), [{ id, when: new Date(1000), value: 'hi' }]);
    const next = await db.archive(h, 'offline').append('alice', 'again');
    assert.ok(Number(next) > Number(id));
    await db.close();
    open.length = 0;

    const raw = new DatabaseSync(path);
    try {
      assert.equal(migrateSqlite(raw), sqliteSchemaVersion);
      assert.equal(migrateSqlite(raw), sqliteSchemaVersion);
      assert.deepEqual(raw.prepare('SELECT version FROM schema_version').all().map((r) => r['version']), [sqliteSchemaVersion]);
    } finally {
      raw.close();
    }
  });

  it('migrates step by step and records the version', () => {
    const raw = new DatabaseSync(':memory:');
    try {
      assert.equal(migrateSqlite(raw, []), 0);
      assert.equal(migrateSqlite(raw, sqliteMigrations.slice(0, 1)), 1);
      const extra = [...sqliteMigrations, { version: sqliteMigrations.length + 1, description: 'test', sql: 'CREATE TABLE t_extra (x)' }];
      assert.equal(migrateSqlite(raw, extra), sqliteMigrations.length + 1);
      assert.ok(raw.prepare(`SELECT name FROM sqlite_master WHERE name = 't_extra'`).get());
      // a failing migration rolls back entirely, version included
      const broken = [...extra, { version: extra.length + 1, description: 'bad', sql: 'CREATE TABLE t_ok (x); NOT SQL' }];
      assert.throws(() => migrateSqlite(raw, broken));
      assert.equal(raw.prepare(`SELECT name FROM sqlite_master WHERE name = 't_ok'`).get(), undefined);
      assert.equal(raw.prepare('SELECT version FROM schema_version').get()?.['version'], extra.length);
      // gaps in numbering are a programming error
      assert.throws(() => migrateSqlite(raw, [{ version: 2, description: 'gap', sql: '' }]), /expected 1/);
    } finally {
      raw.close();
    }
  });

  it('refuses a database written by a newer schema', async () => {
    const db = await make();
    await db.close();
    open.length = 0;
    const raw = new DatabaseSync(path);
    raw.exec(`UPDATE schema_version SET version = ${sqliteSchemaVersion + 1}`);
    raw.close();
    await assert.rejects(new SqliteBackend({ path }).open(), /newer/);
  });

  it('creates the database, WAL and shm files with mode 0600', async () => {
    const prev = process.umask(0o022);
    try {
      const db = await make();
      await db.keyval('h.example', 's').set('alice', 1);
      for (const p of [path, path + '-wal', path + '-shm']) {
        assert.equal(statSync(p).mode & 0o777, 0o600, p);
      }
      await db.close();
      open.length = 0;
      // an existing file with looser permissions is tightened
      const other = join(dir, 'loose.sqlite');
      writeFileSync(other, '', { mode: 0o644 });
      const db2 = new SqliteBackend({ path: other });
      await db2.open();
      await db2.close();
      assert.equal(statSync(other).mode & 0o777, 0o600);
    } finally {
      process.umask(prev);
    }
  });

  it('rejects calls before open and after close; close is idempotent', async () => {
    const db = new SqliteBackend({ path });
    const kv = db.keyval<Json>('h.example', 's');
    await assert.rejects(kv.get('alice'), /not open/);
    await db.open();
    await db.open(); // no-op
    await kv.set('alice', 1);
    assert.equal(await kv.get('alice'), 1);
    await db.close();
    await db.close();
    await assert.rejects(kv.get('alice'), /not open/);
    await assert.rejects(db.checkpoint(), /not open/);
  });

  it('rolls back a failed append', async () => {
    let fail = false;
    const flaky: ValueCodec = {
      encode: (plain) => { if (fail) throw new Error('codec failure'); return plain; },
      decode: (sealed) => sealed,
    };
    const db = await make(flaky);
    const a = db.archive<Json>('h.example', 'offline');
    await a.append('alice', 1);
    fail = true;
    await assert.rejects(a.append('alice', 2), /codec failure/);
    fail = false;
    assert.deepEqual((await a.list('alice')).map((e) => e.value), [1]);
    await a.append('alice', 3);
    assert.deepEqual((await a.list('alice')).map((e) => e.value), [1, 3]);
  });

  it('quarantines an undecodable row: the others are read, it is counted once and logged by store only', async () => {
    const h = 'h.example';
    const warnings: { obj: Record<string, unknown>; msg: string }[] = [];
    const log = { warn: (obj: Record<string, unknown>, msg: string) => void warnings.push({ obj, msg }) };
    const db0 = new SqliteBackend({ path, codec: bindingCodec, log });
    await db0.open();
    const offline = db0.archive<Json>(h, 'offline');
    const ids: string[] = [];
    for (const body of ['m1', 'm2 SECRETBODY', 'm3']) ids.push(await offline.append('juliet', { body }));
    await db0.map(h, 'roster').set('juliet', 'romeo@x', { name: 'Romeo' });
    await db0.map(h, 'roster').set('juliet', 'tybalt@x', { name: 'SECRETNAME' });
    await db0.keyval(h, 'vcard').set('juliet', { fn: 'Juliet' });
    await db0.keyval(h, 'vcard').set('nurse', { fn: 'SECRETFN' });
    await db0.close();

    // Damage three sealed values in the file itself: flipped bytes (the binding codec's tag no
    // longer matches) and valid sealing around bytes that are not JSON.
    const raw = new DatabaseSync(path);
    try {
      const flip = (table: string, where: string, ...args: (string | number)[]) => {
        const row = raw.prepare(`SELECT rowid AS r, value FROM ${table} WHERE ${where}`).get(...args);
        const bytes = Buffer.from(row?.['value'] as Uint8Array);
        bytes[2] = (bytes[2] ?? 0) ^ 0xff;
        raw.prepare(`UPDATE ${table} SET value = ? WHERE rowid = ?`).run(bytes, Number(row?.['r']));
      };
      flip('archive', 'id = ?', Number(ids[1]));
      flip('records', "store = 'roster' AND key = 'tybalt@x'");
      const notJson = bindingCodec.encode(Buffer.from('{"fn": SECRETFN'), recordAad('keyval', h, 'nurse', 'vcard', ''));
      raw.prepare("UPDATE records SET value = ? WHERE store = 'vcard' AND user = 'nurse'").run(notJson);
    } finally {
      raw.close();
    }

    const db = new SqliteBackend({ path, codec: bindingCodec, log });
    await db.open();
    open.push(db);
    const a = db.archive<Json>(h, 'offline');
    assert.deepEqual((await a.list('juliet')).map((e) => e.value), [{ body: 'm1' }, { body: 'm3' }]);
    assert.deepEqual((await a.list('juliet', { limit: 2 })).map((e) => e.value), [{ body: 'm1' }]);
    assert.equal(await a.count('juliet'), 3);
    assert.deepEqual([...(await db.map(h, 'roster').getAll('juliet')).keys()], ['romeo@x']);
    assert.equal(await db.map(h, 'roster').get('juliet', 'tybalt@x'), undefined);
    assert.equal(await db.keyval(h, 'vcard').get('nurse'), undefined);
    assert.deepEqual(await db.keyval(h, 'vcard').get('juliet'), { fn: 'Juliet' });
    // users() opens no value: the damaged one still names its user
    assert.deepEqual(await db.keyval(h, 'vcard').users(), ['juliet', 'nurse']);
    const exp = await db.exportUser(h, 'juliet');
    assert.deepEqual(exp.archive['offline']?.map((e) => e.value), [{ body: 'm1' }, { body: 'm3' }]);
    assert.deepEqual(Object.keys(exp.map['roster'] ?? {}), ['romeo@x']);
    assert.equal(Object.keys((await db.exportUser(h, 'nurse')).keyval).length, 0);

    assert.equal(db.quarantined(), 3, 'each damaged row counted once, however often read');
    assert.equal(warnings.length, 3);
    assert.deepEqual(warnings.map((w) => w.obj['store']).sort(), ['offline', 'roster', 'vcard']);
    for (const { obj, msg } of warnings) {
      const text = JSON.stringify(obj) + msg;
      for (const secret of ['juliet', 'nurse', 'tybalt', 'SECRET']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    }
    // the damaged archive entry goes with the user's other entries
    await a.delete('juliet', (await a.list('juliet')).map((e) => e.id));
    assert.equal(await a.count('juliet'), 1);
    await a.deleteAll('juliet');
    assert.equal(await a.count('juliet'), 0);
  });

  it('rejects bad list limits and dates', async () => {
    const db = await make();
    const a = db.archive<Json>('h.example', 'offline');
    await assert.rejects(a.list('alice', { limit: -1 }), RangeError);
    await assert.rejects(a.list('alice', { limit: 1.5 }), RangeError);
    await assert.rejects(a.append('alice', 1, new Date(Number.NaN)), RangeError);
  });
});

/**
 * Another process holding the write lock (a backup, the sqlite3 shell): here a second connection
 * in a child process, so the lock is real and independent of this event loop.
 */
describe('SqliteBackend waiting for a lock held elsewhere', () => {
  let dir: string;
  let path: string;
  const opened: SqliteBackend[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jabberx-sqlite-busy-'));
    path = join(dir, 'data.sqlite');
  });

  afterEach(async () => {
    for (const db of opened.splice(0)) await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function make(opts: { busyWaitMs?: number } = {}): Promise<SqliteBackend> {
    const db = new SqliteBackend({ path, ...opts });
    await db.open();
    opened.push(db);
    return db;
  }

  /** Holds BEGIN EXCLUSIVE on the file for ms in a child process; resolves once the lock is held. */
  function holdLock(ms: number): Promise<{ released: Promise<void> }> {
    const script = `
      const { DatabaseSync } = require('node:sqlite');
      const db = new DatabaseSync(process.argv[1]);
      db.exec('BEGIN EXCLUSIVE');
      db.exec("INSERT INTO schema_version SELECT version FROM schema_version WHERE 0");
      process.stdout.write('locked\\n');
      setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(process.argv[2]));
    `;
    const child = spawn(process.execPath, ['-e', script, path, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const released = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return new Promise((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        if (d.includes('locked')) resolve({ released });
      });
      child.once('exit', (code) => reject(new Error(`lock holder exited early (${String(code)})`)));
    });
  }

  /** The longest gap between ticks of a 5 ms interval while fn runs: how long the event loop was blocked. */
  async function longestStall<T>(fn: () => Promise<T>): Promise<{ result: T; stallMs: number }> {
    let last = performance.now();
    let stallMs = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      stallMs = Math.max(stallMs, now - last);
      last = now;
    }, 5);
    try {
      const result = await fn();
      return { result, stallMs };
    } finally {
      clearInterval(timer);
    }
  }

  it('waits for the lock without blocking the event loop, keeps writes in order, and reads meanwhile', async (t) => {
    const db = await make();
    const kv = db.keyval<Json>('h.example', 'vcard');
    await kv.set('alice', 'before');
    const { released } = await holdLock(1500);
    const started = Date.now();
    const { result, stallMs } = await longestStall(async () => {
      const first = kv.set('alice', 'first');
      const second = kv.set('alice', 'second');
      const appended = db.archive<Json>('h.example', 'offline').append('bob', 'queued');
      // WAL readers don't need the lock: a read answers at once, from the last commit
      const readAt = Date.now();
      assert.equal(await kv.get('alice'), 'before');
      assert.ok(Date.now() - readAt < 200, 'a read does not wait for the lock');
      await Promise.all([first, second, appended]);
      return Date.now() - started;
    });
    await released;
    assert.ok(result >= 1000, `the writes waited for the lock (${result} ms)`);
    t.diagnostic(`longest event-loop gap ${stallMs.toFixed(1)} ms`);
    assert.ok(stallMs < 100, `the event loop was never blocked long (longest gap ${stallMs.toFixed(1)} ms)`);
    assert.equal(await kv.get('alice'), 'second', 'writes keep their order');
    assert.deepEqual((await db.archive<Json>('h.example', 'offline').list('bob')).map((e) => e.value), ['queued']);
  });

  it('gives up after busy_wait with StorageBusyError; nothing is written; later writes work', async () => {
    const db = await make({ busyWaitMs: 400 });
    const kv = db.keyval<Json>('h.example', 'vcard');
    const { released } = await holdLock(1500);
    const started = Date.now();
    await assert.rejects(kv.set('alice', 'lost'), (err: unknown) => {
      assert.ok(err instanceof StorageBusyError);
      assert.match(err.message, /locked by another connection.*busy_wait/);
      return true;
    });
    const waited = Date.now() - started;
    assert.ok(waited >= 400 && waited < 1400, `gave up after about busy_wait (${waited} ms)`);
    await released;
    assert.equal(await kv.get('alice'), undefined);
    await kv.set('alice', 'kept');
    assert.equal(await kv.get('alice'), 'kept');
  });

  it('close waits for the WAL checkpoint instead of failing at once', async () => {
    const db = new SqliteBackend({ path });
    await db.open();
    await db.keyval<Json>('h.example', 's').set('a', 1);
    const { released } = await holdLock(600);
    await db.close();
    await released;
    assert.equal(statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0, 0, 'WAL truncated');
  });
});
