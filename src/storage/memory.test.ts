// The in-memory byte backend passes the whole storage contract: the storage layer needs nothing
// of SQLite.
import { runStorageContract } from './backend.contract.ts';
import { MemoryBackend } from './memory.ts';

runStorageContract('memory', async () => {
  const data = new MemoryBackend();
  return {
    backend: () => new MemoryBackend(data),
    rawBytes: () => data.rawBytes(),
    cleanup: async () => undefined,
  };
});
