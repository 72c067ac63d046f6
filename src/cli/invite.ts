// `jabberx invite HOST [--expires 7d]`: an account invite (XEP-0401) to hand to someone, as an
// xmpp: URI and the landing page that explains it.
import { parsePeriod } from '../core/options.ts';
import type { Command } from './command.ts';
import { OperationError, UsageError } from './errors.ts';
import { withOperations } from './operate.ts';
import { InviteUnavailable } from '../operations/invites.ts';

export const invite: Command = async ({ values, rest, config }) => {
  const cfg = config();
  const host = rest[0];
  if (!host) throw new UsageError('expected HOST');
  if (!cfg.hosts.has(host)) throw new UsageError(`${host} is not a host of this server (hosts: ${[...cfg.hosts.keys()].join(', ')})`);
  let expiresMs: number | undefined;
  if (values.expires !== undefined) {
    try {
      expiresMs = parsePeriod(values.expires);
    } catch (e) {
      throw new UsageError(`--expires: ${String(e)}`);
    }
    if (expiresMs < 60_000) throw new UsageError('--expires: at least 1m');
  }
  const created = await withOperations(cfg, async (run) => {
    try {
      return await run('invite', { host, expiresMs });
    } catch (e) {
      if (e instanceof InviteUnavailable) throw new OperationError(e.message);
      throw e;
    }
  });
  process.stdout.write(`${created.uri}\n`);
  if (created.page) process.stdout.write(`${created.page}\n`);
  process.stdout.write(`expires ${created.expires}; it creates one account\n`);
  return 0;
};
