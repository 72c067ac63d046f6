// The storage contract as a reusable node:test suite: every ByteBackend (SQLite, the in-memory
// one, a future PostgreSQL) runs it unchanged, so modules can rely on identical behaviour
// whatever stores their data. It checks the backend on its own (names and bytes, atomic writes,
// archive ids), and the storage layer over it (encrypted.ts): the typed stores, transactions,
// and what stays at rest (no clear names or values, record binding, quarantine, secure delete,
// keys). A backend runs it with a fixture:
//
//   runStorageContract('sqlite (file)', async () => {
//     const dir = mkdtempSync(join(tmpdir(), 'x-'));
//     const path = join(dir, 'data.sqlite');
//     return {
//       backend: () => new SqliteBackend({ path }),
//       rawBytes: () => Buffer.concat([path, `${path}-wal`].filter(existsSync).map((p) => readFileSync(p))),
//       cleanup: async () => rmSync(dir, { recursive: true, force: true }),
//     };
//   });
import { describe } from 'node:test';
import { atRestSuite } from './contract/at-rest.contract.ts';
import { byteBackendSuite } from './contract/bytes.contract.ts';
import type { FixtureFactory } from './contract/fixture.ts';
import { typedStoreSuite } from './contract/stores.contract.ts';
import { transactionSuite } from './contract/transactions.contract.ts';

export type { ByteBackendFixture, FixtureFactory } from './contract/fixture.ts';

/**
 * Registers the contract tests under describe(name). makeFixture() is called for every test and
 * must give a fixture on new, empty data (see ByteBackendFixture); its cleanup() runs after it.
 */
export function runStorageContract(name: string, makeFixture: FixtureFactory): void {
  describe(`storage contract: ${name}`, () => {
    byteBackendSuite(makeFixture);
    typedStoreSuite(makeFixture);
    transactionSuite(makeFixture);
    atRestSuite(makeFixture);
  });
}
