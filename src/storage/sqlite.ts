// SQLite storage backend for the generic store layout of src/core/storage.ts (keyval, map, archive).
// Privacy: values are sealed through the ValueCodec with the record identity as AAD, deleted
// content is zeroed in place (secure_delete) and the WAL is truncated on checkpoint and close,
// so deleted data does not stay readable in the database files.
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
  StorageBusyError, identityCodec, isRetryableDecodeError, recordAad,
  type ArchiveEntry, type ArchiveStore, type Json, type KeyValueStore, type MapStore,
  type StorageBackend, type StorageLog, type UserExport, type ValueCodec,
} from '../core/storage.ts';
import { migrateSqlite } from './migrations.ts';

export interface SqliteBackendOptions {
  /** Database file, or ':memory:' (tests; no file, no WAL). */
  path: string;
  /** Seals values at rest; defaults to the identity codec. */
  codec?: ValueCodec;
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
  /** Warnings about quarantined values (store name only). */
  log?: StorageLog;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5;
export const DEFAULT_BUSY_WAIT_MS = 30_000;
/** Backoff between attempts on a locked database: doubling from the first to the last. */
const RETRY_FIRST_MS = 5;
const RETRY_MAX_MS = 250;
/** Damaged records remembered (so each is counted and logged once); past this, each read counts. */
const QUARANTINE_TRACKED_MAX = 10_000;

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
type RecordKind = 'keyval' | 'map';

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
  recUsers: StatementSync;
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
}

const FILE_MODE = 0o600;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Identifiers (host, user, store, key) are joined with NUL in the AAD (recordAad), so a NUL
 * inside one would let two different records share an AAD; lone surrogates would be replaced
 * when converted to UTF-8 and alias other strings. Neither occurs in valid JIDs or namespaces.
 */
function checkIdent(...idents: string[]): void {
  for (const s of idents) {
    if (typeof s !== 'string' || s.includes('\u0000') || !s.isWellFormed()) {
      throw new TypeError('storage: identifiers must be well-formed strings without NUL');
    }
  }
}

function toBytes(value: Json): Uint8Array {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw new TypeError('storage: value is not JSON-serializable');
  return encoder.encode(text);
}

function fromBytes(bytes: Uint8Array): Json {
  return JSON.parse(decoder.decode(bytes)) as Json;
}

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

/** Assigns an own enumerable property even for names like "__proto__" (store names are data). */
function put<V>(obj: Record<string, V>, key: string, value: V): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function whenMs(when: Date | undefined): number {
  const ms = when === undefined ? Date.now() : when.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('storage: invalid archive date');
  return ms;
}

/** Archive ids are decimal rowids; anything else cannot name an entry and is ignored. */
function parseIds(ids: string[]): number[] {
  const out: number[] = [];
  for (const id of ids) {
    if (typeof id !== 'string' || !/^[1-9][0-9]{0,15}$/.test(id)) continue;
    const n = Number(id);
    if (Number.isSafeInteger(n)) out.push(n);
  }
  return out;
}

export class SqliteBackend implements StorageBackend {
  readonly kind = 'sqlite';
  readonly path: string;
  #codec: ValueCodec;
  #busyTimeoutMs: number;
  #busyWaitMs: number;
  #log: StorageLog | undefined;
  #db: DatabaseSync | undefined;
  #st: Statements | undefined;
  #opening: Promise<void> | undefined;
  /** Settles when every write queued behind a locked database has finished; undefined when none waits. */
  #writeBacklog: Promise<void> | undefined;
  /** Identities of the damaged records met so far (in memory only), and their count. */
  readonly #damagedSeen = new Set<string>();
  #damagedCount = 0;

  constructor(opts: SqliteBackendOptions) {
    this.path = opts.path;
    this.#codec = opts.codec ?? identityCodec;
    this.#busyTimeoutMs = nonNegative(opts.busyTimeoutMs, DEFAULT_BUSY_TIMEOUT_MS);
    this.#busyWaitMs = nonNegative(opts.busyWaitMs, DEFAULT_BUSY_WAIT_MS);
    this.#log = opts.log;
  }

  get #inMemory(): boolean {
    return this.path === ':memory:' || this.path === '';
  }

  /** Damaged values skipped since this backend was created, each counted once. */
  quarantined(): number {
    return this.#damagedCount;
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
    if (!this.#inMemory) {
      // Create the file ourselves with 0600 so it never exists with umask-derived permissions;
      // chmod also tightens a file created earlier by something else. SQLite gives the -wal and
      // -shm files the main file's permissions when it creates them.
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      closeSync(openSync(this.path, 'a', FILE_MODE));
      chmodSync(this.path, FILE_MODE);
    }
    const db = new DatabaseSync(this.path, { enableDoubleQuotedStringLiterals: false });
    try {
      // secure_delete first: every later delete or overwrite zeroes the freed bytes in place.
      db.exec('PRAGMA secure_delete = ON');
      db.exec('PRAGMA foreign_keys = ON');
      db.exec('PRAGMA trusted_schema = OFF');
      db.exec(`PRAGMA busy_timeout = ${this.#busyTimeoutMs}`);
      db.exec('PRAGMA journal_mode = WAL');
      // NORMAL is durable against application crashes in WAL mode; a power loss may lose the
      // last commits but never corrupts the file.
      db.exec('PRAGMA synchronous = NORMAL');
      db.enableDefensive(true);
      const secure = db.prepare('PRAGMA secure_delete').get();
      if (!secure || colNum(secure, 'secure_delete') !== 1) throw new Error('storage: SQLite refused secure_delete');
      migrateSqlite(db);
      this.#st = this.#prepare(db);
      if (!this.#inMemory) {
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
      recUsers: p(`SELECT DISTINCT user FROM records WHERE host = ? AND kind = ? AND store = ? ORDER BY user`),
      recAll: p(`SELECT key, value FROM records WHERE ${rec} ORDER BY key`),
      recDeleteAll: p(`DELETE FROM records WHERE ${rec}`),
      arInsert: p(`INSERT INTO archive (host, store, user, when_ms, value) VALUES (?, ?, ?, ?, x'')`),
      arSeal: p(`UPDATE archive SET value = ? WHERE id = ?`),
      arList: p(`SELECT id, when_ms, value FROM archive WHERE ${ar} ORDER BY when_ms, id LIMIT ?`),
      arCount: p(`SELECT count(*) AS n FROM archive WHERE ${ar}`),
      // The ids come as one JSON array so the statement stays prepared whatever their number;
      // the host/store/user condition keeps a caller from deleting another user's entries by id.
      arDelete: p(`DELETE FROM archive WHERE ${ar} AND id IN (SELECT value FROM json_each(?))`),
      arDeleteAll: p(`DELETE FROM archive WHERE ${ar}`),
      arPurge: p(`DELETE FROM archive WHERE host = ? AND store = ? AND when_ms < ?`),
      userRecords: p(`SELECT kind, store, key, value FROM records WHERE host = ? AND user = ? ORDER BY kind, store, key`),
      userArchive: p(`SELECT id, store, when_ms, value FROM archive WHERE host = ? AND user = ? ORDER BY store, when_ms, id`),
      userDeleteRecords: p(`DELETE FROM records WHERE host = ? AND user = ?`),
      userDeleteArchive: p(`DELETE FROM archive WHERE host = ? AND user = ?`),
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

  /**
   * A stored value that could not be opened: counted once and logged with its store only (never
   * a user, a key or content), then skipped by the read that met it. Retryable failures (a data
   * key another process just added) go back to the caller instead.
   */
  #damaged(err: unknown, kind: RecordKind | 'archive', host: string, store: string, identity: string): void {
    if (isRetryableDecodeError(err)) throw err;
    const id = `${kind}\u0000${host}\u0000${store}\u0000${identity}`;
    if (this.#damagedSeen.has(id)) return;
    if (this.#damagedSeen.size < QUARANTINE_TRACKED_MAX) this.#damagedSeen.add(id);
    this.#damagedCount++;
    // The error's name only: a JSON SyntaxError's message quotes the text it failed on.
    const error = err instanceof Error ? err.name : typeof err;
    this.#log?.warn({ store, kind, error, quarantined: this.#damagedCount }, 'storage: a stored value could not be opened and is skipped (quarantined)');
  }

  /** Opens a value, or quarantines it and gives undefined. */
  #openOrSkip(sealed: Uint8Array, kind: RecordKind | 'archive', host: string, user: string, store: string, key: string): Json | undefined {
    try {
      return this.#open(sealed, recordAad(kind, host, user, store, key));
    } catch (err) {
      this.#damaged(err, kind, host, store, `${user}\u0000${key}`);
      return undefined;
    }
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
      await this.checkpoint();
    } finally {
      this.#db = undefined;
      this.#st = undefined;
      db.close();
    }
  }

  #seal(value: Json, aad: string): Uint8Array {
    return this.#codec.encode(toBytes(value), aad);
  }

  #open(sealed: Uint8Array, aad: string): Json {
    return fromBytes(this.#codec.decode(sealed, aad));
  }

  // Shared by keyval (key '') and map: the same table, told apart by kind.
  async #recGet(kind: RecordKind, host: string, store: string, user: string, key: string): Promise<Json | undefined> {
    checkIdent(host, store, user, key);
    const row = await this.#read(() => this.#s.recGet.get(host, kind, store, user, key));
    return row ? this.#openOrSkip(colBlob(row, 'value'), kind, host, user, store, key) : undefined;
  }

  async #recSet(kind: RecordKind, host: string, store: string, user: string, key: string, value: Json): Promise<void> {
    checkIdent(host, store, user, key);
    const sealed = this.#seal(value, recordAad(kind, host, user, store, key));
    await this.#write(() => this.#s.recSet.run(host, kind, store, user, key, sealed));
  }

  async #recDelete(kind: RecordKind, host: string, store: string, user: string, key: string): Promise<void> {
    checkIdent(host, store, user, key);
    await this.#write(() => this.#s.recDelete.run(host, kind, store, user, key));
  }

  keyval<T extends Json>(host: string, store: string): KeyValueStore<T> {
    checkIdent(host, store);
    return {
      get: async (user) => (await this.#recGet('keyval', host, store, user, '')) as T | undefined,
      set: (user, value) => this.#recSet('keyval', host, store, user, '', value),
      delete: (user) => this.#recDelete('keyval', host, store, user, ''),
      // No value is opened here: a damaged value still names its user (callers that open the
      // values, such as the encryption layer, skip it then).
      users: async () => (await this.#read(() => this.#s.recUsers.all(host, 'keyval', store))).map((r) => colStr(r, 'user')),
    };
  }

  map<T extends Json>(host: string, store: string): MapStore<T> {
    checkIdent(host, store);
    return {
      get: async (user, key) => (await this.#recGet('map', host, store, user, key)) as T | undefined,
      set: (user, key, value) => this.#recSet('map', host, store, user, key, value),
      delete: (user, key) => this.#recDelete('map', host, store, user, key),
      getAll: async (user) => {
        checkIdent(user);
        const out = new Map<string, T>();
        for (const row of await this.#read(() => this.#s.recAll.all(host, 'map', store, user))) {
          const key = colStr(row, 'key');
          const value = this.#openOrSkip(colBlob(row, 'value'), 'map', host, user, store, key);
          if (value !== undefined) out.set(key, value as T);
        }
        return out;
      },
      deleteAll: async (user) => {
        checkIdent(user);
        await this.#write(() => this.#s.recDeleteAll.run(host, 'map', store, user));
      },
    };
  }

  /**
   * Archive values are sealed with the entry id as the AAD key, binding each value to its own
   * entry (not only to its user and store). The id exists only once the row does, so append
   * inserts an empty placeholder and seals into it inside one transaction: no reader or crash
   * ever sees the placeholder, and AUTOINCREMENT means an id (hence an AAD) is never reused.
   */
  archive<T extends Json>(host: string, store: string): ArchiveStore<T> {
    checkIdent(host, store);
    /** The entry of a row, or undefined (quarantined) when its value can't be opened. */
    const entry = (user: string, row: Row): ArchiveEntry<T> | undefined => {
      const id = String(colNum(row, 'id'));
      const value = this.#openOrSkip(colBlob(row, 'value'), 'archive', host, user, store, id);
      return value === undefined ? undefined : { id, when: new Date(colNum(row, 'when_ms')), value: value as T };
    };
    return {
      append: async (user, value, when) => {
        checkIdent(user);
        const ms = whenMs(when);
        const plain = toBytes(value);
        return this.#write(() => this.#tx(() => {
          const s = this.#s;
          const id = String(s.arInsert.run(host, store, user, ms).lastInsertRowid);
          s.arSeal.run(this.#codec.encode(plain, recordAad('archive', host, user, store, id)), id);
          return id;
        }));
      },
      list: async (user, opts) => {
        checkIdent(user);
        const limit = opts?.limit;
        if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
          throw new RangeError('storage: limit must be a non-negative integer');
        }
        const rows = await this.#read(() => this.#s.arList.all(host, store, user, limit ?? -1));
        const out: ArchiveEntry<T>[] = [];
        for (const row of rows) {
          const e = entry(user, row);
          if (e) out.push(e);
        }
        return out;
      },
      count: async (user) => {
        checkIdent(user);
        const row = await this.#read(() => this.#s.arCount.get(host, store, user));
        return row ? colNum(row, 'n') : 0;
      },
      delete: async (user, ids) => {
        checkIdent(user);
        const nums = parseIds(ids);
        if (nums.length > 0) await this.#write(() => this.#s.arDelete.run(host, store, user, JSON.stringify(nums)));
      },
      deleteAll: async (user) => {
        checkIdent(user);
        await this.#write(() => this.#s.arDeleteAll.run(host, store, user));
      },
      purgeOlderThan: async (cutoff) => {
        const ms = whenMs(cutoff);
        const changes = await this.#write(() => this.#s.arPurge.run(host, store, ms).changes);
        return Number(changes);
      },
    };
  }

  async exportUser(host: string, user: string): Promise<UserExport> {
    checkIdent(host, user);
    // One read transaction: the export is a consistent snapshot across all stores, taken without
    // the write lock (so a lock held elsewhere doesn't delay it).
    return this.#read(() => this.#tx(() => {
      const out: UserExport = { host, user, keyval: {}, map: {}, archive: {} };
      const s = this.#s;
      for (const row of s.userRecords.all(host, user)) {
        const kind = colStr(row, 'kind') as RecordKind;
        const store = colStr(row, 'store');
        const key = colStr(row, 'key');
        const value = this.#openOrSkip(colBlob(row, 'value'), kind, host, user, store, key);
        if (value === undefined) continue;
        if (kind === 'keyval') {
          put(out.keyval, store, value);
        } else {
          if (!Object.hasOwn(out.map, store)) put(out.map, store, {});
          put(out.map[store] as Record<string, Json>, key, value);
        }
      }
      for (const row of s.userArchive.all(host, user)) {
        const store = colStr(row, 'store');
        const id = String(colNum(row, 'id'));
        const value = this.#openOrSkip(colBlob(row, 'value'), 'archive', host, user, store, id);
        if (value === undefined) continue;
        if (!Object.hasOwn(out.archive, store)) put(out.archive, store, []);
        out.archive[store]?.push({ id, when: new Date(colNum(row, 'when_ms')).toISOString(), value });
      }
      return out;
    }, 'read'));
  }

  async deleteUser(host: string, user: string): Promise<void> {
    checkIdent(host, user);
    await this.#write(() => this.#tx(() => {
      this.#s.userDeleteRecords.run(host, user);
      this.#s.userDeleteArchive.run(host, user);
    }));
  }
}
