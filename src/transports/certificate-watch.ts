// Notices certificate renewals without a signal: fs.watch on the folders holding the certificate
// and key files (and, for symlinks such as certbot's live/ files, on their targets' folders), one
// call after the changes settle. Folders, not files: a renewal replaces files (rename) or
// re-points symlinks, which a watch on the old file would miss.
import { watch, realpathSync, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';

/** Wait this long after the last change: certbot writes the certificate, then the key. */
export const WATCH_DEBOUNCE_MS = 1000;

export interface FileWatch {
  /** Watches the folders of these files instead (after a reload changed the paths). */
  update(files: readonly string[]): void;
  close(): void;
}

/** The folders to watch for `files`: each file's own, and its symlink target's when it has one. */
function foldersOf(files: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const f of files) {
    out.add(dirname(f));
    try {
      out.add(dirname(realpathSync(f)));
    } catch {
      // not there yet: its folder is watched for its arrival
    }
  }
  return out;
}

export function watchCertificateFiles(files: readonly string[], onChange: () => void, debounceMs = WATCH_DEBOUNCE_MS): FileWatch {
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
    timer.unref();
  };
  const update = (next: readonly string[]) => {
    const folders = foldersOf(next);
    for (const [folder, w] of watchers) {
      if (folders.has(folder) || [...folders].some((f) => dirname(f) === folder)) continue;
      w.close();
      watchers.delete(folder);
    }
    for (const folder of folders) {
      if (watchers.has(folder)) continue;
      // A folder that does not exist yet (data_dir/certs/<host>/ before an import): its parent sees it appear.
      for (const candidate of [folder, dirname(folder)]) {
        if (watchers.has(candidate)) break;
        try {
          const w = watch(candidate, { persistent: false }, changed);
          w.on('error', () => {
            w.close();
            watchers.delete(candidate);
          });
          watchers.set(candidate, w);
          break;
        } catch {
          // not there, or not readable: try its parent, then give up
        }
      }
    }
  };
  update(files);
  return {
    update,
    close() {
      clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
