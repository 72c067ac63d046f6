// `jabberx start`: run the server until SIGTERM/SIGINT or the parent's IPC channel closes.
import type { ServerConfig } from '../core/config.ts';
import { Server } from '../server.ts';
import type { Command } from './command.ts';

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

export const start: Command = async ({ config }) => {
  const cfg = config();
  relaunchWithHeapTuning(cfg);
  const server = new Server(cfg);
  // Crash output goes through the logger too, so it is scrubbed of addresses like every log line.
  const crash = (err: unknown) => {
    server.log.fatal({ err }, 'crashed');
    server.log.flush();
    setTimeout(() => process.exit(70), 100);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  await server.start();
  process.send?.({ type: 'ready', ports: server.ports });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    process.once('disconnect', stop);
  });
  await server.stop();
  // Lingering client sockets or the parent's IPC channel must not keep a stopped server alive.
  process.disconnect?.();
  setTimeout(() => process.exit(0), 1000).unref();
  return 0;
};
