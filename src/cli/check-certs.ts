// `jabberx check certs`: each host's certificate as clients will see it (files, key, expiry,
// names, chain), with errors and warnings. Reads files only; asks a running server which service
// domains its modules claimed, so their names are checked too.
import type { ServerConfig } from '../core/config.ts';
import { controlSocketPath } from '../server.ts';
import { checkCertificates, type HostCertificateReport } from '../transports/certificate-check.ts';
import { controlAvailable, controlRequest } from '../transports/control-socket.ts';
import type { Command } from './command.ts';
import { UsageError } from './errors.ts';

export const EXIT_CERT_WARNINGS = 1;
export const EXIT_CERT_ERRORS = 78;

/** The service domains a running server serves; none when it is stopped (they exist only then). */
async function runningServiceDomains(cfg: ServerConfig): Promise<string[]> {
  const socket = controlSocketPath(cfg);
  if (!(await controlAvailable(socket))) return [];
  const reply = await controlRequest(socket, { command: 'service-domains', args: {} }, 5_000).catch(() => undefined);
  return reply?.ok && Array.isArray(reply.result) ? reply.result.map(String) : [];
}

function describeSource(r: HostCertificateReport): string {
  switch (r.source.kind) {
    case 'configured':
      return `${r.source.certificate} (${r.source.scope === 'tls' ? 'tls.certificate' : `${r.source.scope}.certificate`})`;
    case 'managed':
      return `${r.source.certificate} (imported or from ACME)`;
    case 'self-signed':
      return `${r.source.certificate} (self-signed)`;
  }
}

/** The report as lines: one heading per host, then one line per finding. */
export function formatReport(reports: HostCertificateReport[]): string[] {
  const lines: string[] = [];
  for (const r of reports) {
    const facts = [r.names ? `for ${r.names}` : '', r.expiresAt ? `until ${r.expiresAt.toISOString().slice(0, 10)}` : ''].filter(Boolean).join(', ');
    const verdict = r.findings.some((f) => f.severity === 'error') ? 'ERROR' : r.findings.length ? 'WARNING' : 'OK';
    lines.push(`${r.host}: ${verdict}: ${describeSource(r)}${facts ? `, ${facts}` : ''}`);
    for (const f of r.findings) lines.push(`  ${f.severity}: ${f.message}`);
  }
  return lines;
}

export const checkCerts: Command = async ({ rest, config }) => {
  if (rest.length !== 0) throw new UsageError(`unexpected ${JSON.stringify(rest.join(' '))} (usage: jabberx check certs [--config FILE])`);
  const cfg = config();
  const reports = await checkCertificates(cfg, { serviceDomains: await runningServiceDomains(cfg) });
  for (const line of formatReport(reports)) process.stdout.write(`${line}\n`);
  const findings = reports.flatMap((r) => r.findings);
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  process.stdout.write(`${reports.length} host(s): ${errors} error(s), ${warnings} warning(s)\n`);
  return errors ? EXIT_CERT_ERRORS : warnings ? EXIT_CERT_WARNINGS : 0;
};

/** `jabberx check SUBJECT`: only `certs` for now (check-config checks the rest). */
export const check: Command = async (ctx) => {
  const [subject, ...rest] = ctx.rest;
  if (subject !== 'certs') throw new UsageError(`usage: jabberx check certs [--config FILE]${subject === undefined ? '' : ` (unknown subject "${subject}")`}`);
  return checkCerts({ ...ctx, rest });
};
