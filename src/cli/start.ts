// `jabberx start`: run the server until SIGTERM/SIGINT or the parent's IPC channel closes; SIGHUP
// reloads (the certificates and the settings that can change while running: src/operations/reload.ts).
import { mkdirSync } from 'node:fs';
import type { ServerConfig } from '../core/config.ts';
import { Server } from '../server.ts';
import type { Command } from './command.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { checkCertificatesBeforeStart } from './preflight.ts';
import { refuseRoot } from './root-refusal.ts';

/**
 * V8 flags can't change once the heap exists, so `start` re-executes itself (same process, same
 * PID) with the configured young-generation size. Skipped when the operator set the flag, when a
 * parent talks to us over IPC (tests and supervisors keep their channel), or when turned off.
 */
function relaunchWithHeapTuning(cfg: ServerConfig): void {
  const mib = Math.round(cfg.limits.v8_semi_space / (1 << 20));
  if (mib <= 0 || process.send !== undefined || process.env['JABBERX_HEAP_TUNED'] !== undefined) return;
  if (process.execArgv.some((a) => a.startsWith('--max-semi-space-size')) || !process.execve) return;
  process.execve(
    process.execPath,
    [process.execPath, `--max-semi-space-size=${mib}`, ...process.execArgv, ...process.argv.slice(1)],
    { ...process.env, JABBERX_HEAP_TUNED: '1' },
  );
}

export const start: Command = async ({ values, config }) => {
  const cfg = config();
  // Before anything is written: files made as root would lock the service user out later.
  refuseRoot(values['allow-root'] === true || cfg.security.allow_root);
  relaunchWithHeapTuning(cfg);
  // Before the server touches data_dir (its constructor removes a leftover debug log).
  mkdirSync(cfg.data_dir, { recursive: true, mode: 0o700 });
  const lock = lockDataDir(cfg.data_dir);
  process.once('exit', () => lock.release());
  // A broken certificate stops start-up before the store is opened (or a first key file made).
  await checkCertificatesBeforeStart(cfg);
  const server = new Server(cfg);
  server.configSource = config;
  // Node's default for SIGHUP is to exit: logrotate and certbot hooks send it to reload.
  let listening = false;
  process.on('SIGHUP', () => {
    if (listening) void server.reload('SIGHUP').catch((err: unknown) => server.log.error({ err }, 'SIGHUP: reload failed'));
    else server.log.info('SIGHUP before the server listens: ignored');
  });
  // Crash output goes through the logger too, so it is scrubbed of addresses like every log line.
  const crash = (err: unknown) => {
    server.log.fatal({ err }, 'crashed');
    server.log.flush();
    setTimeout(() => process.exit(70), 100);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  try {
    await server.start();
  } catch (e) {
    // Listeners already bound and the store must not keep a failed start alive.
    await server.stop().catch(() => undefined);
    throw e;
  }
  listening = true;
  const stopRequested = new Promise<void>((resolve) => {
    const stop = () => resolve();
    // `on`, not `once`: Ctrl-C reaches both the `jabberx` wrapper and this process, and the
    // wrapper relays it too; the second signal must not cut the orderly shutdown short.
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.once('disconnect', stop);
  });
  // Only now: a parent told "ready" may send SIGTERM at once, before the next statement runs.
  process.send?.({ type: 'ready', ports: server.ports });
  await stopRequested;
  await server.stop();
  // Lingering client sockets or the parent's IPC channel must not keep a stopped server alive.
  process.disconnect?.();
  setTimeout(() => process.exit(0), 1000).unref();
  return 0;
};
