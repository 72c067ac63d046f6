// `jabberx reload`: the running server re-reads its configuration file and certificates (as on
// SIGHUP) and says what it applied, what needs a restart, and each host's certificate outcome.
import type { ReloadReport } from '../operations/reload.ts';
import type { Command } from './command.ts';
import { UsageError } from './errors.ts';
import { withOperations } from './operate.ts';

/** A certificate that could not be served (the old one stays). */
export const EXIT_RELOAD_REFUSED = 1;
/** The configuration file no longer loads (the CLI itself refuses it first; the server's report says so too). */
export const EXIT_RELOAD_CONFIG = 78;

export function formatReloadReport(r: ReloadReport): string[] {
  const lines: string[] = [];
  if (r.configError !== undefined) lines.push(`configuration not applied (the running settings stay): ${r.configError}`);
  for (const [host, outcome] of Object.entries(r.certificates)) {
    lines.push(outcome === 'replaced' || outcome === 'unchanged' ? `certificate of ${host}: ${outcome}` : `certificate of ${host}: refused, the one in use stays: ${outcome}`);
  }
  lines.push(r.applied.length ? `applied: ${r.applied.join(', ')}` : 'applied: no setting changed that applies while running');
  if (r.restart.length) lines.push(`need a restart: ${r.restart.join(', ')}`);
  return lines;
}

export const reload: Command = async ({ rest, config }) => {
  if (rest.length) throw new UsageError('usage: jabberx reload [--config FILE]');
  const report = await withOperations(config(), (run) => run('reload', {}), { needsServer: 'reload acts on a running server; start reads the configuration anyway' });
  for (const line of formatReloadReport(report)) process.stdout.write(`${line}\n`);
  if (report.configError !== undefined) return EXIT_RELOAD_CONFIG;
  const refused = Object.values(report.certificates).some((o) => o !== 'replaced' && o !== 'unchanged');
  return refused ? EXIT_RELOAD_REFUSED : 0;
};
