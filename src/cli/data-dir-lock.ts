// One server per data directory: `jabberx start` holds data_dir/server.lock (its PID) while it
// runs, so a second server refuses to start and never touches the first one's control socket,
// debug log or store. A lock left by a crash (its PID no longer a running Node process) is taken over.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'server.lock';

/** Another server runs on this data directory: exit 1, with a message saying what to do. */
export class DataDirLockedError extends Error {}

/** The PID in the lock file when that process still runs (a Node process, so not a reused PID). */
export function lockHolder(dataDir: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(join(dataDir, LOCK_FILE), 'utf8').trim(), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return undefined; // ESRCH: gone
  }
  try {
    // After a reboot the PID may belong to anything: only a Node process can be a server.
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node')) return undefined;
  } catch {
    // no /proc (not Linux), or not readable: the PID check alone decides
  }
  return pid;
}

export interface DataDirLock {
  release(): void;
}

/** Takes the lock of `dataDir` (which must exist) or throws DataDirLockedError. */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const holder = lockHolder(dataDir);
      if (holder !== undefined) {
        throw new DataDirLockedError(`the data directory ${dataDir} is in use by a running server (pid ${holder}); `
          + 'stop it first, or give this server another data_dir');
      }
      rmSync(path, { force: true }); // left by a server that is gone
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    let released = false;
    return {
      release() {
        if (released) return;
        released = true;
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path, { force: true });
        } catch {
          // already gone
        }
      },
    };
  }
}
