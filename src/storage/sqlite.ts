// SQLite adapter of the byte layer (ByteBackend in src/core/storage.ts): two generic tables,
// `records` (keyval and map stores) and `archive`, holding the bytes the storage layer gives it.
// It never sees a name or a value in clear: src/storage/encrypted.ts hashes names and seals values
// above it. Privacy here: deleted content is zeroed in place (secure_delete) and the WAL is
// truncated on checkpoint and close, so deleted data does not stay readable in the files.
//
// node:sqlite is synchronous, so a lock held by another process (a backup, the sqlite3 shell)
// must never be waited for inside SQLite: that would stop the whole server. SQLite's own busy
// timeout is a few milliseconds; an operation that still finds the database locked is retried
// from a timer, with backoff, until storage.busy_wait has passed (then StorageBusyError). Writes
// that arrive meanwhile queue behind it in order; reads go on (WAL readers don't need the lock).
import { DatabaseSync, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { setImmediate as yieldToIo, setTimeout as sleep } from 'node:timers/promises';
import {
  StorageBusyError, WriteConflictError,
  type ArchiveScope, type ByteBackend, type ByteEntry, type ByteRecord, type OwnedRecord,
  type OwnerRecords, type OwnerScope, type RecordCheck, type RecordKind, type RecordRef,
  type RecordWrite, type StoreScope, type WholeStore,
} from '../core/storage.ts';
import { migrateSqlite, sqliteSchemaVersion } from './migrations.ts';
import { checkWhen, sameBytes } from './byte-rules.ts';

export interface SqliteBackendOptions {
  /** Database file, or ':memory:' (tests; no file, no WAL). */
  path: string;
  /**
   * How long SQLite itself waits for another connection's lock on each attempt, blocking the
   * thread (SQLite's busy_timeout). Keep it a few milliseconds. Default 5.
   */
  busyTimeoutMs?: number;
  /**
   * How long an operation keeps retrying, without blocking, while another connection holds the
   * lock; then it rejects with StorageBusyError (the storage.busy_wait option). Default 30000.
   */
  busyWaitMs?: number;
  /**
   * Opens an existing database for reading only (inspection while the server runs, e.g. by
   * tests): no migration, no checkpoint, no change to the files; writes fail.
   */
  readOnly?: boolean;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5;
export const DEFAULT_BUSY_WAIT_MS = 30_000;
/** Backoff between attempts on a locked database: doubling from the first to the last. */
const RETRY_FIRST_MS = 5;
const RETRY_MAX_MS = 250;

const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;

/** SQLITE_BUSY or SQLITE_LOCKED, extended codes included (e.g. SQLITE_BUSY_SNAPSHOT). */
function isBusy(err: unknown): boolean {
  const code = (err as { errcode?: unknown } | null)?.errcode;
  if (typeof code !== 'number') return false;
  const primary = code & 0xff;
  return primary === SQLITE_BUSY || primary === SQLITE_LOCKED;
}

function nonNegative(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) ? Math.max(0, Math.trunc(value)) : fallback;
}

type Row = Record<string, SQLOutputValue>;

/** Every statement, prepared once in open(): the per-call path only binds and steps. */
interface Statements {
  begin: StatementSync;
  beginRead: StatementSync;
  commit: StatementSync;
  rollback: StatementSync;
  checkpoint: StatementSync;
  recGet: StatementSync;
  recSet: StatementSync;
  recDelete: StatementSync;
  recScan: StatementSync;
  recAll: StatementSync;
  recDeleteAll: StatementSync;
  arInsert: StatementSync;
  arSeal: StatementSync;
  arList: StatementSync;
  arCount: StatementSync;
  arDelete: StatementSync;
  arDeleteAll: StatementSync;
  arPurge: StatementSync;
  userRecords: StatementSync;
  userArchive: StatementSync;
  userDeleteRecords: StatementSync;
  userDeleteArchive: StatementSync;
  recAny: StatementSync;
  arAny: StatementSync;
  recDeleteStore: StatementSync;
  arDeleteStore: StatementSync;
}

const FILE_MODE = 0o600;

function col(row: Row, name: string): SQLOutputValue {
  if (!(name in row)) throw new Error(`storage: missing column ${name}`);
  return row[name] as SQLOutputValue;
}
function colStr(row: Row, name: string): string {
  const v = col(row, name);
  if (typeof v !== 'string') throw new Error(`storage: column ${name} is not text`);
  return v;
}
function colNum(row: Row, name: string): number {
  const v = col(row, name);
  if (typeof v === 'bigint') return Number(v);
  if (typeof v !== 'number') throw new Error(`storage: column ${name} is not a number`);
  return v;
}
function colBlob(row: Row, name: string): Uint8Array {
  const v = col(row, name);
  if (!(v instanceof Uint8Array)) throw new Error(`storage: column ${name} is not a blob`);
  return v;
}


/** Archive ids are decimal rowids; anything else cannot name an entry and is ignored. */
function parseIds(ids: readonly string[]): number[] {
  const out: number[] = [];
  for (const id of ids) {
    if (typeof id !== 'string' || !/^[1-9][0-9]{0,15}$/.test(id)) continue;
    const n = Number(id);
    if (Number.isSafeInteger(n)) out.push(n);
  }
  return out;
}

export class SqliteBackend implements ByteBackend {
  readonly kind = 'sqlite';
  readonly path: string;
  readonly #busyTimeoutMs: number;
  readonly #busyWaitMs: number;
  readonly #readOnly: boolean;
  #db: DatabaseSync | undefined;
  #st: Statements | undefined;
  #opening: Promise<void> | undefined;
  /** Settles when every write queued behind a locked database has finished; undefined when none waits. */
  #writeBacklog: Promise<void> | undefined;

  constructor(opts: SqliteBackendOptions) {
    this.path = opts.path;
    this.#busyTimeoutMs = nonNegative(opts.busyTimeoutMs, DEFAULT_BUSY_TIMEOUT_MS);
    this.#busyWaitMs = nonNegative(opts.busyWaitMs, DEFAULT_BUSY_WAIT_MS);
    this.#readOnly = opts.readOnly === true;
  }

  get #inMemory(): boolean {
    return this.path === ':memory:' || this.path === '';
  }

  /**
   * Opens the file, retrying (without blocking) while another process holds a lock that the
   * set-up needs (WAL switch, migrations), up to busy_wait.
   */
  async open(): Promise<void> {
    if (this.#db) return;
    this.#opening ??= this.#retry(() => this.#openNow(), Date.now()).finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  #openNow(): void {
    if (this.#db) return;
    if (!this.#inMemory && !this.#readOnly) {
      // Create the file ourselves with 0600 so it never exists with umask-derived permissions;
      // chmod also tightens a file created earlier by something else. SQLite gives the -wal and
      // -shm files the main file's permissions when it creates them.
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      closeSync(openSync(this.path, 'a', FILE_MODE));
      chmodSync(this.path, FILE_MODE);
    }
    const db = new DatabaseSync(this.path, { enableDoubleQuotedStringLiterals: false, readOnly: this.#readOnly });
    try {
      // secure_delete first: every later delete or overwrite zeroes the freed bytes in place.
      db.exec('PRAGMA secure_delete = ON');
      db.exec('PRAGMA foreign_keys = ON');
      db.exec('PRAGMA trusted_schema = OFF');
      db.exec(`PRAGMA busy_timeout = ${this.#busyTimeoutMs}`);
      if (!this.#readOnly) {
        db.exec('PRAGMA journal_mode = WAL');
        // NORMAL is durable against application crashes in WAL mode; a power loss may lose the
        // last commits but never corrupts the file.
        db.exec('PRAGMA synchronous = NORMAL');
      }
      db.enableDefensive(true);
      const secure = db.prepare('PRAGMA secure_delete').get();
      if (!secure || colNum(secure, 'secure_delete') !== 1) throw new Error('storage: SQLite refused secure_delete');
      if (this.#readOnly) {
        const row = db.prepare('SELECT version FROM schema_version').get();
        if (!row || colNum(row, 'version') !== sqliteSchemaVersion) {
          throw new Error(`storage: a read-only open needs a database at schema version ${sqliteSchemaVersion}`);
        }
      } else {
        migrateSqlite(db);
      }
      this.#st = this.#prepare(db);
      if (!this.#inMemory && !this.#readOnly) {
        for (const suffix of ['-wal', '-shm']) {
          if (existsSync(this.path + suffix)) chmodSync(this.path + suffix, FILE_MODE);
        }
      }
    } catch (err) {
      this.#st = undefined;
      db.close();
      throw err;
    }
    this.#db = db;
  }

  #prepare(db: DatabaseSync): Statements {
    const p = (sql: string): StatementSync => db.prepare(sql);
    const rec = 'host = ? AND kind = ? AND store = ? AND user = ?';
    const ar = 'host = ? AND store = ? AND user = ?';
    return {
      begin: p('BEGIN IMMEDIATE'),
      beginRead: p('BEGIN DEFERRED'),
      commit: p('COMMIT'),
      rollback: p('ROLLBACK'),
      checkpoint: p('PRAGMA wal_checkpoint(TRUNCATE)'),
      recGet: p(`SELECT value FROM records WHERE ${rec} AND key = ?`),
      recSet: p(`INSERT INTO records (host, kind, store, user, key, value) VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (host, kind, store, user, key) DO UPDATE SET value = excluded.value`),
      recDelete: p(`DELETE FROM records WHERE ${rec} AND key = ?`),
      recScan: p(`SELECT user, key, value FROM records WHERE host = ? AND kind = ? AND store = ? ORDER BY user, key`),
      recAll: p(`SELECT key, value FROM records WHERE ${rec} ORDER BY key`),
      recDeleteAll: p(`DELETE FROM records WHERE ${rec}`),
      arInsert: p(`INSERT INTO archive (host, store, user, when_ms, value) VALUES (?, ?, ?, ?, x'')`),
      arSeal: p(`UPDATE archive SET value = ? WHERE id = ?`),
      arList: p(`SELECT id, when_ms, value FROM archive WHERE ${ar} ORDER BY when_ms, id LIMIT ?`),
      arCount: p(`SELECT count(*) AS n FROM archive WHERE ${ar}`),
      // The ids come as one JSON array so the statement stays prepared whatever their number;
      // the host/store/user condition keeps a caller from deleting another owner's entries by id.
      arDelete: p(`DELETE FROM archive WHERE ${ar} AND id IN (SELECT value FROM json_each(?))`),
      arDeleteAll: p(`DELETE FROM archive WHERE ${ar}`),
      arPurge: p(`DELETE FROM archive WHERE host = ? AND store = ? AND when_ms < ?`),
      userRecords: p(`SELECT kind, store, key, value FROM records WHERE host = ? AND user = ? ORDER BY kind, store, key`),
      userArchive: p(`SELECT id, store, when_ms, value FROM archive WHERE host = ? AND user = ? ORDER BY store, when_ms, id`),
      userDeleteRecords: p(`DELETE FROM records WHERE host = ? AND user = ?`),
      userDeleteArchive: p(`DELETE FROM archive WHERE host = ? AND user = ?`),
      recAny: p(`SELECT 1 AS found FROM records WHERE host = ? AND kind = ? AND store = ? LIMIT 1`),
      arAny: p(`SELECT 1 AS found FROM archive WHERE host = ? AND store = ? LIMIT 1`),
      recDeleteStore: p(`DELETE FROM records WHERE host = ? AND kind = ? AND store = ?`),
      arDeleteStore: p(`DELETE FROM archive WHERE host = ? AND store = ?`),
    };
  }

  get #s(): Statements {
    if (!this.#st) throw new Error('storage: SQLite backend is not open');
    return this.#st;
  }

  /**
   * Runs fn in a transaction: a write transaction (BEGIN IMMEDIATE), or a read snapshot. fn is
   * synchronous, so no other call of this backend can run in the middle of it even though the
   * API is async; on SQLITE_BUSY it is rolled back, and the caller's retry runs it again whole.
   */
  #tx<R>(fn: () => R, mode: 'write' | 'read' = 'write'): R {
    const s = this.#s;
    (mode === 'write' ? s.begin : s.beginRead).run();
    try {
      const result = fn();
      s.commit.run();
      return result;
    } catch (err) {
      if (this.#db?.isTransaction) s.rollback.run();
      throw err;
    }
  }

  /**
   * Runs fn until it does not meet a locked database, sleeping between attempts (the event loop
   * keeps serving everything else), for at most busy_wait since `started`. fn is synchronous and
   * must have no effect when it fails: one statement, or one #tx.
   */
  async #retry<R>(fn: () => R, started: number): Promise<R> {
    let delay = RETRY_FIRST_MS;
    for (;;) {
      try {
        return fn();
      } catch (err) {
        if (!isBusy(err)) throw err;
      }
      const waited = Date.now() - started;
      if (waited >= this.#busyWaitMs) {
        throw new StorageBusyError(
          `storage: the database stayed locked by another connection for ${waited} ms (storage.busy_wait is ${this.#busyWaitMs} ms); the operation was abandoned`,
        );
      }
      // Jitter keeps several waiting operations from retrying in lockstep.
      await sleep(Math.max(1, Math.min(delay * (0.5 + Math.random() / 2), this.#busyWaitMs - waited)));
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  }

  /** A read: run at once (WAL readers rarely meet a lock); retried from a timer if it does. */
  async #read<R>(fn: () => R): Promise<R> {
    const started = Date.now();
    try {
      return fn();
    } catch (err) {
      if (!isBusy(err)) throw err;
    }
    return this.#retry(fn, started);
  }

  /**
   * A write: run at once when nothing waits; otherwise (or when it meets the lock) queued behind
   * the writes already waiting, so writes keep their order. Each waits at most busy_wait from its
   * own call; a queued write yields to I/O before its first attempt, so a long queue failing
   * after a long lock never blocks the event loop for more than one attempt at a time.
   */
  async #write<R>(fn: () => R): Promise<R> {
    const started = Date.now();
    if (this.#writeBacklog === undefined) {
      try {
        return fn();
      } catch (err) {
        if (!isBusy(err)) throw err;
      }
    }
    const before = this.#writeBacklog ?? Promise.resolve();
    const run = before.then(async () => {
      await yieldToIo();
      return this.#retry(fn, started);
    });
    const tail = run.then(() => undefined, () => undefined);
    this.#writeBacklog = tail;
    void tail.then(() => {
      if (this.#writeBacklog === tail) this.#writeBacklog = undefined;
    });
    return run;
  }

  /**
   * Moves the WAL content into the database file and truncates the WAL to zero bytes, so
   * page images from before a deletion don't linger there. Retried (without blocking) while
   * another connection reads or writes, up to busy_wait.
   */
  async checkpoint(): Promise<void> {
    const started = Date.now();
    const attempt = (): void => {
      const row = this.#s.checkpoint.get();
      // A checkpoint that could not finish reports busy instead of failing: retried the same way.
      if (row && colNum(row, 'busy') !== 0) throw Object.assign(new Error('storage: WAL checkpoint incomplete (database busy)'), { errcode: SQLITE_BUSY });
    };
    try {
      await this.#retry(attempt, started);
    } catch (err) {
      if (err instanceof StorageBusyError) throw new StorageBusyError(`storage: WAL checkpoint incomplete (database busy for ${this.#busyWaitMs} ms)`);
      throw err;
    }
  }

  /** Makes deletions final: the WAL checkpointed and truncated (see checkpoint). */
  async flush(): Promise<void> {
    if (this.#readOnly) return;
    await this.checkpoint();
  }

  /** The connection settings in effect (diagnostics and tests). */
  settings(): { journalMode: string; synchronous: number; secureDelete: number; foreignKeys: number; busyTimeoutMs: number } {
    const db = this.#db;
    if (!db) throw new Error('storage: SQLite backend is not open');
    const read = (pragma: string): SQLOutputValue => {
      const row = db.prepare(`PRAGMA ${pragma}`).get();
      return row ? col(row, pragma === 'busy_timeout' ? 'timeout' : pragma) : null;
    };
    return {
      journalMode: String(read('journal_mode')),
      synchronous: Number(read('synchronous')),
      secureDelete: Number(read('secure_delete')),
      foreignKeys: Number(read('foreign_keys')),
      busyTimeoutMs: Number(read('busy_timeout')),
    };
  }

  async close(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    const db = this.#db;
    if (!db) return;
    try {
      if (!this.#readOnly) await this.checkpoint();
    } finally {
      this.#db = undefined;
      this.#st = undefined;
      db.close();
    }
  }

  async get(ref: RecordRef): Promise<Uint8Array | undefined> {
    const row = await this.#read(() => this.#s.recGet.get(ref.host, ref.kind, ref.store, ref.owner, ref.key));
    return row ? colBlob(row, 'value') : undefined;
  }

  async getAll(scope: OwnerScope): Promise<ByteRecord[]> {
    const rows = await this.#read(() => this.#s.recAll.all(scope.host, scope.kind, scope.store, scope.owner));
    return rows.map((row) => ({ key: colStr(row, 'key'), value: colBlob(row, 'value') }));
  }

  async scan(scope: StoreScope): Promise<OwnedRecord[]> {
    const rows = await this.#read(() => this.#s.recScan.all(scope.host, scope.kind, scope.store));
    return rows.map((row) => ({ owner: colStr(row, 'user'), key: colStr(row, 'key'), value: colBlob(row, 'value') }));
  }

  #apply(w: RecordWrite): void {
    const s = this.#s;
    switch (w.op) {
      case 'put': {
        const r = w.ref;
        s.recSet.run(r.host, r.kind, r.store, r.owner, r.key, w.value);
        break;
      }
      case 'delete': {
        const r = w.ref;
        s.recDelete.run(r.host, r.kind, r.store, r.owner, r.key);
        break;
      }
      case 'clear': {
        const c = w.scope;
        s.recDeleteAll.run(c.host, c.kind, c.store, c.owner);
        break;
      }
    }
  }

  async write(writes: readonly RecordWrite[], checks: readonly RecordCheck[] = []): Promise<void> {
    if (writes.length === 0 && checks.length === 0) return;
    // One statement is a transaction of its own: no BEGIN/COMMIT round for the common case.
    const only = writes[0];
    if (checks.length === 0 && writes.length === 1 && only) {
      await this.#write(() => this.#apply(only));
      return;
    }
    await this.#write(() => this.#tx(() => {
      const s = this.#s;
      for (const { ref: r, expected } of checks) {
        const row = s.recGet.get(r.host, r.kind, r.store, r.owner, r.key);
        if (!sameBytes(row ? colBlob(row, 'value') : undefined, expected)) {
          throw new WriteConflictError('storage: a record changed since the transaction read it');
        }
      }
      for (const w of writes) this.#apply(w);
    }));
  }

  /**
   * The id exists only once the row does, so append inserts an empty placeholder and seals into
   * it inside one transaction: no reader or crash ever sees the placeholder, and AUTOINCREMENT
   * means an id (hence the record binding of a value) is never reused.
   */
  async append(scope: ArchiveScope, when: number, seal: (id: string) => Uint8Array): Promise<string> {
    const ms = checkWhen(when);
    return this.#write(() => this.#tx(() => {
      const s = this.#s;
      const id = String(s.arInsert.run(scope.host, scope.store, scope.owner, ms).lastInsertRowid);
      s.arSeal.run(seal(id), id);
      return id;
    }));
  }

  async entries(scope: ArchiveScope, limit?: number): Promise<ByteEntry[]> {
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
      throw new RangeError('storage: limit must be a non-negative integer');
    }
    const rows = await this.#read(() => this.#s.arList.all(scope.host, scope.store, scope.owner, limit ?? -1));
    return rows.map((row) => ({ id: String(colNum(row, 'id')), when: colNum(row, 'when_ms'), value: colBlob(row, 'value') }));
  }

  async count(scope: ArchiveScope): Promise<number> {
    const row = await this.#read(() => this.#s.arCount.get(scope.host, scope.store, scope.owner));
    return row ? colNum(row, 'n') : 0;
  }

  async deleteEntries(scope: ArchiveScope, ids: readonly string[] | 'all'): Promise<void> {
    if (ids === 'all') {
      await this.#write(() => this.#s.arDeleteAll.run(scope.host, scope.store, scope.owner));
      return;
    }
    const nums = parseIds(ids);
    if (nums.length > 0) await this.#write(() => this.#s.arDelete.run(scope.host, scope.store, scope.owner, JSON.stringify(nums)));
  }

  async purge(host: string, store: string, before: number): Promise<number> {
    const ms = checkWhen(before);
    return Number(await this.#write(() => this.#s.arPurge.run(host, store, ms).changes));
  }

  async exportOwner(host: string, owner: string): Promise<OwnerRecords> {
    // One read transaction: a consistent snapshot across all stores, taken without the write
    // lock (so a lock held elsewhere doesn't delay it).
    return this.#read(() => this.#tx(() => {
      const s = this.#s;
      return {
        records: s.userRecords.all(host, owner).map((row) => ({
          kind: colStr(row, 'kind') as RecordKind, store: colStr(row, 'store'), key: colStr(row, 'key'), value: colBlob(row, 'value'),
        })),
        archive: s.userArchive.all(host, owner).map((row) => ({
          store: colStr(row, 'store'), id: String(colNum(row, 'id')), when: colNum(row, 'when_ms'), value: colBlob(row, 'value'),
        })),
      };
    }, 'read'));
  }

  async deleteOwner(host: string, owner: string): Promise<void> {
    await this.#write(() => this.#tx(() => {
      this.#s.userDeleteRecords.run(host, owner);
      this.#s.userDeleteArchive.run(host, owner);
    }));
  }

  async hasRecords(scope: WholeStore): Promise<boolean> {
    const row = await this.#read(() => (scope.kind === 'archive'
      ? this.#s.arAny.get(scope.host, scope.store)
      : this.#s.recAny.get(scope.host, scope.kind, scope.store)));
    return row !== undefined;
  }

  async deleteStore(scope: WholeStore): Promise<number> {
    return Number(await this.#write(() => (scope.kind === 'archive'
      ? this.#s.arDeleteStore.run(scope.host, scope.store)
      : this.#s.recDeleteStore.run(scope.host, scope.kind, scope.store)).changes));
  }
}
