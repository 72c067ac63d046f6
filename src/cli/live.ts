// `jabberx status`, `debug`: commands that only talk to the running server over its control socket.
import { parsePeriod } from '../core/options.ts';
import { controlSocketPath } from '../server.ts';
import { controlRequest } from '../transports/control-socket.ts';
import type { Command } from './command.ts';
import { UsageError } from './errors.ts';

/** `status`: counts of the running server (sessions, memory, uptime). */
export const status: Command = async ({ config }) => {
  const cfg = config();
  const reply = await controlRequest(controlSocketPath(cfg), { command: 'status', args: {} });
  if (!reply) throw new Error('no running server');
  if (!reply.ok) throw new Error(reply.error);
  process.stdout.write(`${JSON.stringify(reply.result, null, 2)}\n`);
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
  const reply = await controlRequest(controlSocketPath(cfg), { command: 'debug', args: { mode, for: values.for } });
  if (!reply) throw new Error('no running server (debug logging is switched on a running server)');
  if (!reply.ok) throw new Error(reply.error);
  const r = reply.result as { enabled: boolean; until?: string; file: string };
  process.stdout.write(r.enabled ? `debug logging on, into ${r.file}${r.until ? ` until ${r.until}` : ''}\n` : 'debug logging off (no debug file)\n');
  return 0;
};
