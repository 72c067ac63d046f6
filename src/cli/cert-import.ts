// `jabberx cert import DIR`: copies Let's Encrypt-style certificates into place for the configured
// hosts (src/operations/certificate-import.ts), then has a running server reload them.
import { controlSocketPath } from '../server.ts';
import { ImportSourceError, importCertificates } from '../operations/certificate-import.ts';
import { controlAvailable } from '../transports/control-socket.ts';
import type { Command } from './command.ts';
import { OperationError, UsageError } from './errors.ts';
import { withOperations } from './operate.ts';
import { formatReloadReport } from './reload.ts';

const USAGE = 'usage: jabberx cert import DIR [--config FILE]';

export const certImport: Command = async ({ rest, config }) => {
  const [dir, ...extra] = rest;
  if (dir === undefined || extra.length) throw new UsageError(USAGE);
  const cfg = config();
  let outcomes;
  try {
    outcomes = importCertificates(cfg, dir);
  } catch (e) {
    if (e instanceof ImportSourceError) throw new OperationError(e.message);
    throw e;
  }
  for (const o of outcomes) {
    const line = o.status === 'skipped' ? `${o.host}: skipped: ${o.reason ?? ''}` : `${o.host}: ${o.status} from ${o.from ?? ''} to ${o.to ?? ''}`;
    process.stdout.write(`${line}\n`);
  }
  const usable = outcomes.filter((o) => o.status !== 'skipped').length;
  if (usable === 0) {
    process.stdout.write('nothing imported\n');
    return 1;
  }
  if (!outcomes.some((o) => o.status === 'imported') || !(await controlAvailable(controlSocketPath(cfg)))) return 0;
  const report = await withOperations(cfg, (run) => run('reload', {}));
  process.stdout.write('the running server reloaded:\n');
  for (const line of formatReloadReport(report)) process.stdout.write(`  ${line}\n`);
  return Object.values(report.certificates).every((o) => o === 'replaced' || o === 'unchanged') ? 0 : 1;
};

/** `jabberx cert SUBCOMMAND`: only `import` for now. */
export const cert: Command = async (ctx) => {
  const [sub, ...rest] = ctx.rest;
  if (sub !== 'import') throw new UsageError(`${USAGE}${sub === undefined ? '' : ` (unknown subcommand "${sub}")`}`);
  return certImport({ ...ctx, rest });
};
