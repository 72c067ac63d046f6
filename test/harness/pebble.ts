// Debian's pebble, Let's Encrypt's ACME test CA (RFC 8555), run by a test on loopback ports with
// its own configuration. It validates HTTP-01 for real: it fetches the challenge from `httpPort`,
// where the test points the server's http listener. Its HTTPS directory uses a certificate from the
// test CA, which the test processes trust (NODE_EXTRA_CA_CERTS), so no client skips a TLS check.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueTestCertificate } from './test-ca.ts';
import { freePort } from './net.ts';

export interface Pebble {
  /** The ACME directory URL. */
  readonly directory: string;
  stop(): Promise<void>;
}

/** Whether the pebble command is installed (apt-get install pebble). */
export function pebbleInstalled(): boolean {
  return spawnSync('pebble', ['-h'], { stdio: 'ignore' }).error === undefined;
}

/**
 * Starts pebble; it checks HTTP-01 challenges on 127.0.0.1:`httpPort` and issues certificates
 * valid `validityDays`. Retries without sleeps, nonces never rejected, authorizations never
 * reused (so each order is validated over HTTP again): the validation itself is real.
 */
export async function startPebble(dir: string, opts: { httpPort: number; validityDays: number }): Promise<Pebble> {
  mkdirSync(dir, { recursive: true });
  const tls = await issueTestCertificate('localhost', join(dir, 'tls'));
  const [listen, management, tlsPort] = [await freePort(), await freePort(), await freePort()];
  const config = join(dir, 'pebble-config.json');
  writeFileSync(config, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${listen}`,
      managementListenAddress: `127.0.0.1:${management}`,
      certificate: tls.certificate,
      privateKey: tls.key,
      httpPort: opts.httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      certificateValidityPeriod: opts.validityDays * 86_400,
    },
  }));
  const child = spawn('pebble', ['-config', config], {
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.once('exit', () => child.kill('SIGKILL'));
  const end = Date.now() + 15_000;
  while (!/Listening on: /.test(output)) {
    if (child.exitCode !== null) throw new Error(`pebble exited: ${output}`);
    if (Date.now() > end) {
      child.kill('SIGKILL');
      throw new Error(`pebble did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    directory: `https://127.0.0.1:${listen}/dir`,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
