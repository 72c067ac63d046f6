// `jabberx status`, `debug`: commands that only act on the running server.
import { parsePeriod } from '../core/options.ts';
import type { Command } from './command.ts';
import { UsageError } from './errors.ts';
import { withOperations } from './operate.ts';

/** `status`: counts of the running server (sessions, memory, uptime). */
export const status: Command = async ({ config }) => {
  const result = await withOperations(config(), (run) => run('status', {}), { needsServer: 'status counts what a running server holds' });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return 0;
};

/** `debug on [--for 1h] | off | status`: verbose logging into its own file on the running server. */
export const debug: Command = async ({ values, rest, config }) => {
  const cfg = config();
  const mode = rest[0] ?? 'status';
  if (!['on', 'off', 'status'].includes(mode)) throw new UsageError('usage: jabberx debug on [--for 1h] | off | status');
  if (values.for !== undefined) {
    try {
      parsePeriod(values.for);
    } catch (e) {
      throw new UsageError(`--for: ${String(e)}`);
    }
  }
  const r = await withOperations(cfg, (run) => run('debug', { mode, for: values.for }), {
    needsServer: 'debug logging is switched on a running server',
  });
  process.stdout.write(r.enabled ? `debug logging on, into ${r.file}${r.until ? ` until ${r.until}` : ''}\n` : 'debug logging off (no debug file)\n');
  return 0;
};
