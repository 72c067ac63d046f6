// SQLite schema for the generic storage layout (src/core/storage.ts), as numbered migrations.
// The applied version lives in a one-row table, so opening an existing file only runs what is
// missing, and a file written by a newer JabberX is refused instead of being silently misread.
import type { DatabaseSync } from 'node:sqlite';

export interface Migration {
  /** 1, 2, 3, ... with no gaps: migration N moves the schema from version N-1 to N. */
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const sqliteMigrations: readonly Migration[] = [
  {
    version: 1,
    description: 'generic keyval/map and archive tables',
    // `kind` keeps a keyval store and a map store of the same name apart (they share the table);
    // keyval rows use key ''. The primary key serves get, getAll and users(); the (host, user)
    // index serves exportUser/deleteUser, which cross every store.
    // AUTOINCREMENT: archive ids are never reused after deletion, so an id held by a client
    // (e.g. an offline-message reference) can never come to name a different entry.
    sql: `
      CREATE TABLE records (
        host  TEXT NOT NULL,
        kind  TEXT NOT NULL CHECK (kind IN ('keyval', 'map')),
        store TEXT NOT NULL,
        user  TEXT NOT NULL,
        key   TEXT NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (host, kind, store, user, key)
      );
      CREATE INDEX records_by_user ON records (host, user);

      CREATE TABLE archive (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        host    TEXT NOT NULL,
        store   TEXT NOT NULL,
        user    TEXT NOT NULL,
        when_ms INTEGER NOT NULL,
        value   BLOB NOT NULL
      );
      CREATE INDEX archive_by_user_time ON archive (host, store, user, when_ms, id);
      CREATE INDEX archive_by_store_time ON archive (host, store, when_ms);
      CREATE INDEX archive_by_user ON archive (host, user);
    `,
  },
];

/** The schema version this code writes. */
export const sqliteSchemaVersion = sqliteMigrations.length;

function currentVersion(db: DatabaseSync): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM schema_version').get();
  const version = row?.['version'];
  return typeof version === 'number' ? version : 0;
}

/**
 * Brings the database up to the latest schema; returns the resulting version. All pending
 * migrations and the version bump run in one transaction (SQLite DDL is transactional), so a
 * crash leaves either the old or the new schema. On an up-to-date database it does nothing.
 */
export function migrateSqlite(db: DatabaseSync, migrations: readonly Migration[] = sqliteMigrations): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`storage: migration ${i} has version ${m.version}, expected ${i + 1}`);
  });
  // IMMEDIATE: take the write lock before reading the version, so two processes opening the
  // same new file can't both run migration 1.
  db.exec('BEGIN IMMEDIATE');
  try {
    let version = currentVersion(db);
    if (version > migrations.length) {
      throw new Error(`storage: database schema version ${version} is newer than this JabberX supports (${migrations.length})`);
    }
    for (const m of migrations.slice(version)) {
      db.exec(m.sql);
      version = m.version;
      db.prepare('DELETE FROM schema_version').run();
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(version);
    }
    db.exec('COMMIT');
    return version;
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}
