// SQLite storage backend for the generic store layout of src/core/storage.ts (keyval, map, archive).
// Privacy: values are sealed through the ValueCodec with the record identity as AAD, deleted
// content is zeroed in place (secure_delete) and the WAL is truncated on checkpoint and close,
// so deleted data does not stay readable in the database files.
import { DatabaseSync, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  identityCodec, recordAad,
  type ArchiveEntry, type ArchiveStore, type Json, type KeyValueStore, type MapStore,
  type StorageBackend, type UserExport, type ValueCodec,
} from '../core/storage.ts';
import { migrateSqlite } from './migrations.ts';

export interface SqliteBackendOptions {
  /** Database file, or ':memory:' (tests; no file, no WAL). */
  path: string;
  /** Seals values at rest; defaults to the identity codec. */
  codec?: ValueCodec;
  /** How long a write waits for another connection's lock before failing. */
  busyTimeoutMs?: number;
}

type Row = Record<string, SQLOutputValue>;
type RecordKind = 'keyval' | 'map';

/** Every statement, prepared once in open(): the per-call path only binds and steps. */
interface Statements {
  begin: StatementSync;
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
  #db: DatabaseSync | undefined;
  #st: Statements | undefined;

  constructor(opts: SqliteBackendOptions) {
    this.path = opts.path;
    this.#codec = opts.codec ?? identityCodec;
    const busy = opts.busyTimeoutMs ?? 5000;
    this.#busyTimeoutMs = Number.isFinite(busy) ? Math.max(0, Math.trunc(busy)) : 5000;
  }

  get #inMemory(): boolean {
    return this.path === ':memory:' || this.path === '';
  }

  async open(): Promise<void> {
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
   * Runs fn in a write transaction. fn is synchronous, so no other call of this backend can
   * run in the middle of it even though the API is async.
   */
  #tx<R>(fn: () => R): R {
    const s = this.#s;
    s.begin.run();
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
   * Moves the WAL content into the database file and truncates the WAL to zero bytes, so
   * page images from before a deletion don't linger there.
   */
  async checkpoint(): Promise<void> {
    const row = this.#s.checkpoint.get();
    if (row && colNum(row, 'busy') !== 0) throw new Error('storage: WAL checkpoint incomplete (database busy)');
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
  #recGet(kind: RecordKind, host: string, store: string, user: string, key: string): Json | undefined {
    checkIdent(host, store, user, key);
    const row = this.#s.recGet.get(host, kind, store, user, key);
    return row ? this.#open(colBlob(row, 'value'), recordAad(kind, host, user, store, key)) : undefined;
  }

  #recSet(kind: RecordKind, host: string, store: string, user: string, key: string, value: Json): void {
    checkIdent(host, store, user, key);
    const sealed = this.#seal(value, recordAad(kind, host, user, store, key));
    this.#s.recSet.run(host, kind, store, user, key, sealed);
  }

  #recDelete(kind: RecordKind, host: string, store: string, user: string, key: string): void {
    checkIdent(host, store, user, key);
    this.#s.recDelete.run(host, kind, store, user, key);
  }

  keyval<T extends Json>(host: string, store: string): KeyValueStore<T> {
    checkIdent(host, store);
    return {
      get: async (user) => this.#recGet('keyval', host, store, user, '') as T | undefined,
      set: async (user, value) => this.#recSet('keyval', host, store, user, '', value),
      delete: async (user) => this.#recDelete('keyval', host, store, user, ''),
      users: async () => this.#s.recUsers.all(host, 'keyval', store).map((r) => colStr(r, 'user')),
    };
  }

  map<T extends Json>(host: string, store: string): MapStore<T> {
    checkIdent(host, store);
    return {
      get: async (user, key) => this.#recGet('map', host, store, user, key) as T | undefined,
      set: async (user, key, value) => this.#recSet('map', host, store, user, key, value),
      delete: async (user, key) => this.#recDelete('map', host, store, user, key),
      getAll: async (user) => {
        checkIdent(user);
        const out = new Map<string, T>();
        for (const row of this.#s.recAll.all(host, 'map', store, user)) {
          const key = colStr(row, 'key');
          out.set(key, this.#open(colBlob(row, 'value'), recordAad('map', host, user, store, key)) as T);
        }
        return out;
      },
      deleteAll: async (user) => {
        checkIdent(user);
        this.#s.recDeleteAll.run(host, 'map', store, user);
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
    const entry = (user: string, row: Row): ArchiveEntry<T> => {
      const id = String(colNum(row, 'id'));
      return {
        id,
        when: new Date(colNum(row, 'when_ms')),
        value: this.#open(colBlob(row, 'value'), recordAad('archive', host, user, store, id)) as T,
      };
    };
    return {
      append: async (user, value, when) => {
        checkIdent(user);
        const ms = whenMs(when);
        const plain = toBytes(value);
        return this.#tx(() => {
          const s = this.#s;
          const id = String(s.arInsert.run(host, store, user, ms).lastInsertRowid);
          s.arSeal.run(this.#codec.encode(plain, recordAad('archive', host, user, store, id)), id);
          return id;
        });
      },
      list: async (user, opts) => {
        checkIdent(user);
        const limit = opts?.limit;
        if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
          throw new RangeError('storage: limit must be a non-negative integer');
        }
        return this.#s.arList.all(host, store, user, limit ?? -1).map((row) => entry(user, row));
      },
      count: async (user) => {
        checkIdent(user);
        const row = this.#s.arCount.get(host, store, user);
        return row ? colNum(row, 'n') : 0;
      },
      delete: async (user, ids) => {
        checkIdent(user);
        const nums = parseIds(ids);
        if (nums.length > 0) this.#s.arDelete.run(host, store, user, JSON.stringify(nums));
      },
      deleteAll: async (user) => {
        checkIdent(user);
        this.#s.arDeleteAll.run(host, store, user);
      },
      purgeOlderThan: async (cutoff) => {
        const changes = this.#s.arPurge.run(host, store, whenMs(cutoff)).changes;
        return Number(changes);
      },
    };
  }

  async exportUser(host: string, user: string): Promise<UserExport> {
    checkIdent(host, user);
    const out: UserExport = { host, user, keyval: {}, map: {}, archive: {} };
    // One transaction: the export is a consistent snapshot across all stores.
    this.#tx(() => {
      const s = this.#s;
      for (const row of s.userRecords.all(host, user)) {
        const kind = colStr(row, 'kind') as RecordKind;
        const store = colStr(row, 'store');
        const key = colStr(row, 'key');
        const value = this.#open(colBlob(row, 'value'), recordAad(kind, host, user, store, key));
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
        if (!Object.hasOwn(out.archive, store)) put(out.archive, store, []);
        out.archive[store]?.push({
          id,
          when: new Date(colNum(row, 'when_ms')).toISOString(),
          value: this.#open(colBlob(row, 'value'), recordAad('archive', host, user, store, id)),
        });
      }
    });
    return out;
  }

  async deleteUser(host: string, user: string): Promise<void> {
    checkIdent(host, user);
    this.#tx(() => {
      this.#s.userDeleteRecords.run(host, user);
      this.#s.userDeleteArchive.run(host, user);
    });
  }
}
