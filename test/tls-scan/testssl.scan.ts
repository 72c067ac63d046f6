// `npm run tls-scan`: scans the TLS of a real server process with testssl.sh (Debian package
// `testssl.sh`), on 127.0.0.1 only: the c2s STARTTLS port (`--starttls xmpp`, RFC 6120 §5) and the
// direct TLS port (XEP-0368). A full default run per port: protocols, cipher categories, forward
// secrecy, server preferences, server defaults, the known vulnerabilities and client simulations.
//
// Fails on any finding of severity LOW or above, and on any WARN or FATAL (an incomplete scan proves
// nothing), except the certificate-provenance findings a self-signed certificate always gets (chain
// of trust, revocation information, OCSP, CT, CAA, EV) and testssl's own local-tool warnings. It also
// asserts the facts the configuration promises (TLS 1.2+ only, AEAD with forward secrecy only), so a
// scan that silently skipped a section cannot pass.
//
// TESTSSL=/path/to/testssl.sh overrides where the tool is found; TLS_SCAN_KEEP=1 keeps the JSON files.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { startServer, type TestServer } from '../harness/server.ts';

interface Finding {
  id: string;
  ip?: string;
  port?: string;
  severity: 'OK' | 'INFO' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL' | 'WARN' | 'DEBUG' | 'FATAL';
  finding: string;
  cve?: string;
  cwe?: string;
}

/**
 * What a self-signed certificate always gets, whatever the TLS configuration: no trusted chain, no
 * CRL/OCSP/CA-issuers URL, no stapling, no CT, no CAA record, no EV. An operator with a CA-issued
 * certificate (tls.certificate / hosts.<domain>.certificate) fixes these, not the server.
 */
const CERT_PROVENANCE = new Set([
  'cert_chain_of_trust', 'cert_revocation', 'cert_ocspURL', 'cert_crlDistributionPoints', 'cert_caIssuers', 'OCSP_stapling',
  'cert_mustStapleExtension', 'cert_certificatePolicies_EV', 'DNS_CAArecord', 'certificate_transparency',
]);
/** Warnings about the local openssl used by testssl, not about the server. */
const LOCAL_TOOL = new Set(['engine_problem']);

/** The tests that must have run, and what they must say about this configuration. */
const REQUIRED: [id: string, finding: RegExp][] = [
  ['SSLv2', /^not offered/],
  ['SSLv3', /^not offered/],
  ['TLS1', /^not offered/],
  ['TLS1_1', /^not offered/],
  ['TLS1_2', /^offered/],
  ['TLS1_3', /^offered/],
  ['cipherlist_NULL', /^not offered/],
  ['cipherlist_aNULL', /^not offered/],
  ['cipherlist_EXPORT', /^not offered/],
  ['cipherlist_LOW', /^not offered/],
  ['cipherlist_3DES_IDEA', /^not offered/],
  ['cipherlist_AVERAGE', /^not offered/], // CBC suites
  ['cipherlist_STRONG', /^offered/],
  ['PFS', /^offered/],
  ['cipher_order', /^server/],
  ['cert_commonName', /^localhost$/],
  ['cert_trust', /^Ok/],
  ['heartbleed', /^not vulnerable/],
  ['CCS', /^not vulnerable/],
  ['ROBOT', /^not vulnerable/],
  ['secure_renego', /^supported/],
  ['secure_client_renego', /^not vulnerable/],
  ['CRIME_TLS', /^not vulnerable/],
  ['POODLE_SSL', /^not vulnerable/],
  ['fallback_SCSV', /./],
  ['SWEET32', /^not vulnerable/],
  ['FREAK', /^not vulnerable/],
  ['DROWN', /^not vulnerable/],
  ['LOGJAM', /^not vulnerable/],
  ['BEAST', /^not vulnerable/],
  ['LUCKY13', /^not vulnerable/],
  ['RC4', /^not vulnerable/],
];

const SCAN_TIMEOUT_MS = 6 * 60_000;

function findTestssl(): string {
  const candidates = [process.env['TESTSSL'], '/usr/bin/testssl', '/usr/bin/testssl.sh'];
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) candidates.push(join(dir, 'testssl'), join(dir, 'testssl.sh'));
  for (const c of candidates) {
    if (!c) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new Error('testssl.sh not found: install the Debian package testssl.sh (or set TESTSSL=/path/to/testssl.sh)');
}

function runTestssl(bin: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TERM: 'dumb' } });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`testssl did not finish within ${String(SCAN_TIMEOUT_MS / 1000)} s\n${output}`));
    }, SCAN_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Runs testssl against one port; returns its findings (from --jsonfile). */
async function scan(t: TestContext, dir: string, name: string, port: number, extra: string[]): Promise<Finding[]> {
  const jsonFile = join(dir, `${name}.json`);
  const args = [
    '--quiet', '--color', '0', '--warnings', 'off', '--nodns', 'none', '--openssl-timeout', '10',
    // Connect to 127.0.0.1 but name the host: SNI and the certificate name check use "localhost".
    '--ip', '127.0.0.1', '--jsonfile', jsonFile, ...extra, `localhost:${String(port)}`,
  ];
  const started = Date.now();
  const { code, output } = await runTestssl(findTestssl(), args, dir);
  let findings: Finding[];
  try {
    findings = JSON.parse(readFileSync(jsonFile, 'utf8')) as Finding[];
  } catch (e) {
    throw new Error(`testssl (exit ${String(code)}) wrote no JSON: ${String(e)}\n${output}`, { cause: e });
  }
  t.diagnostic(`testssl ${args.join(' ')}: ${String(findings.length)} findings in ${String(Math.round((Date.now() - started) / 1000))} s (exit ${String(code)})`);
  return findings;
}

/** Findings that fail the scan, and the accepted ones (for the log). */
function judge(findings: Finding[]): { problems: string[]; accepted: string[] } {
  const problems: string[] = [];
  const accepted: string[] = [];
  const line = (f: Finding): string => `${f.severity} ${f.id}: ${f.finding}${f.cve ? ` (${f.cve})` : ''}`;
  for (const f of findings) {
    if (f.severity === 'OK' || f.severity === 'INFO' || f.severity === 'DEBUG') continue;
    if (f.severity === 'WARN' && LOCAL_TOOL.has(f.id)) accepted.push(`${line(f)} [local openssl]`);
    else if (f.severity !== 'WARN' && f.severity !== 'FATAL' && CERT_PROVENANCE.has(f.id)) accepted.push(`${line(f)} [self-signed certificate]`);
    else problems.push(line(f));
  }
  const byId = new Map(findings.map((f) => [f.id, f]));
  for (const [id, re] of REQUIRED) {
    const f = byId.get(id);
    if (f === undefined) problems.push(`missing test result ${id} (the scan was incomplete)`);
    else if (!re.test(f.finding)) problems.push(`${id}: "${f.finding}" does not match ${String(re)}`);
  }
  return { problems, accepted };
}

void describe('TLS scan with testssl.sh', () => {
  let server: TestServer;
  let dir: string;
  let failed = false;

  before(async () => {
    findTestssl();
    dir = mkdtempSync(join(tmpdir(), 'jabberx-testssl-'));
    // c2s_starttls and c2s_direct_tls on 127.0.0.1, port 0 (the harness default). `hosts: null` drops
    // the harness's test-CA certificates: the server makes its own self-signed one for localhost, as
    // on a fresh install, so what is scanned is what an operator gets.
    server = await startServer({ config: { hosts: null } });
  });
  after(async () => {
    await server?.remove();
    if (failed || process.env['TLS_SCAN_KEEP'] === '1') console.log(`testssl JSON kept in ${dir}`);
    else if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const check = async (t: TestContext, name: string, port: () => number, extra: string[]): Promise<void> => {
    const { problems, accepted } = judge(await scan(t, dir, name, port(), extra));
    for (const a of accepted) t.diagnostic(`accepted: ${a}`);
    for (const p of problems) t.diagnostic(`PROBLEM: ${p}`);
    if (problems.length > 0) failed = true;
    assert.deepEqual(problems, [], `testssl findings on the ${name} port`);
  };

  void it('STARTTLS port (--starttls xmpp)', (t) => check(t, 'starttls', () => server.ports.c2s_starttls, ['--starttls', 'xmpp', '--xmpphost', 'localhost']));
  void it('direct TLS port (XEP-0368)', (t) => check(t, 'direct-tls', () => server.ports.c2s_direct_tls, []));
});
