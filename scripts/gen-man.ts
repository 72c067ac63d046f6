// Writes man/jabberx.1 from the help table (src/cli/man-page.ts); `--check` exits 1 when it is
// stale (npm run lint, and scripts/gen-docs.ts --check, run it).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { manPage } from '../src/cli/man-page.ts';
import { VERSION } from '../src/version.ts';

export const MAN_PAGE = join(import.meta.dirname, '..', 'man', 'jabberx.1');

/** True when man/jabberx.1 is what the help table makes. */
export function manPageFresh(): boolean {
  try {
    return readFileSync(MAN_PAGE, 'utf8') === manPage(VERSION);
  } catch {
    return false;
  }
}

if (import.meta.main) {
  if (process.argv.includes('--check')) {
    if (!manPageFresh()) {
      process.stderr.write('man/jabberx.1 is stale: run `npm run man`\n');
      process.exit(1);
    }
  } else if (!manPageFresh()) {
    mkdirSync(dirname(MAN_PAGE), { recursive: true });
    writeFileSync(MAN_PAGE, manPage(VERSION));
    process.stdout.write('man/jabberx.1 updated\n');
  }
}
