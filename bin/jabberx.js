#!/usr/bin/env node
// Entry point of the `jabberx` command. JabberX needs Node.js 24 (node:sqlite, type stripping in a
// checkout). On Node 24 the command runs in this very process, so signals reach it directly. On an
// older Node (a distribution's, through `npm link`), it re-runs with the Node 24 pinned in this
// package's dependencies as a child, and this process only relays: SIGTERM, SIGINT and SIGHUP go
// to the child, and it exits as the child did. The child also stops when this process dies
// without relaying (SIGKILL): its IPC channel to us closes, which `jabberx start` treats as SIGTERM.
import { spawn } from 'node:child_process';
// A namespace import: Node 20 (which only relays below) has no enableCompileCache.
import * as nodeModule from 'node:module';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(realpathSync(fileURLToPath(import.meta.url))), '..');
// A checkout runs its TypeScript sources; an installed package (no src/, and Node will not strip
// types under node_modules) runs the JavaScript built into dist/ when it was packed.
const source = join(root, 'src', 'main.ts');
const main = existsSync(source) ? source : join(root, 'dist', 'src', 'main.js');
const major = Number(process.versions.node.split('.')[0]);
const RELAYED = ['SIGTERM', 'SIGINT', 'SIGHUP'];

if (major >= 24) {
  // Every command loads the whole server: V8's compile cache (in the OS temp folder, code only)
  // makes the next run start about twice as fast.
  nodeModule.enableCompileCache?.();
  await import(main);
} else {
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(pinned)) {
    process.stderr.write(`jabberx: Node.js 24 or newer is required (this is ${process.version}); install it, or run npm install in ${root}\n`);
    process.exit(1);
  }
  const child = spawn(pinned, [main, ...process.argv.slice(2)], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  const relay = (signal) => child.kill(signal);
  for (const s of RELAYED) process.on(s, relay);
  child.once('error', (e) => {
    process.stderr.write(`jabberx: cannot run ${pinned}: ${e.message}\n`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    for (const s of RELAYED) process.off(s, relay);
    // Killed by a signal: die of the same one, so a shell or supervisor sees what happened.
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
