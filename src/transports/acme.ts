// Built-in ACME (RFC 8555) with HTTP-01 (§8.3), through acme-client: for every host without its
// own certificate files, a certificate is issued when there is no valid one and renewed
// `acme.renew_before` its end; it goes to data_dir/certs/<host>/ (fullchain.pem, privkey.pem
// 0600), with the account key in data_dir/acme/account.key (0600). The CA fetches
// /.well-known/acme-challenge/<token> from the http listener, answered by AcmeChallenges.
import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import acme from 'acme-client';
import type { Logger } from 'pino';
import type { ServerConfig } from '../core/config.ts';
import { certificateSource, hostFileName, managedCertificatePaths, namesHost } from './certificates.ts';
import type { HttpPage } from './http.ts';

const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';
const HOUR_MS = 3_600_000;
/** How often certificates are checked for renewal besides start and reloads. */
export const ACME_CHECK_INTERVAL_MS = 12 * HOUR_MS;
/** After a failed attempt, the next one waits this long, doubling up to the check interval. */
const FIRST_RETRY_MS = 60_000;

/** The key authorizations of pending HTTP-01 challenges, by token; in memory only. */
export class AcmeChallenges {
  readonly #byToken = new Map<string, string>();

  set(token: string, keyAuthorization: string): void {
    this.#byToken.set(token, keyAuthorization);
  }

  delete(token: string): void {
    this.#byToken.delete(token);
  }

  /** The answer for a request path, or undefined for any other path (the caller serves its own pages). */
  page(path: string): HttpPage | undefined {
    if (!path.startsWith(CHALLENGE_PREFIX)) return undefined;
    const answer = this.#byToken.get(path.slice(CHALLENGE_PREFIX.length));
    return answer === undefined ? undefined : { contentType: 'application/octet-stream', body: answer };
  }
}

async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode); // writeFile's mode is filtered by the umask
  await rename(tmp, path);
}

/** The account key, made on first use; a secret (it controls the account): mode 0600. */
async function accountKey(dataDir: string): Promise<Buffer> {
  const path = join(dataDir, 'acme', 'account.key');
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const key = await acme.crypto.createPrivateEcdsaKey();
  await writeAtomic(path, key.toString(), 0o600);
  return key;
}

export interface AcmeOptions {
  /** The running configuration, read at each check (a reload may change acme.*). */
  config: () => ServerConfig;
  log: Logger;
  challenges: AcmeChallenges;
  /** Called after certificates were written: the server re-reads them. */
  issued: () => Promise<void>;
}

export class AcmeManager {
  readonly #opts: AcmeOptions;
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retryMs = FIRST_RETRY_MS;
  #stopped = false;

  constructor(opts: AcmeOptions) {
    this.#opts = opts;
  }

  /** Checks now, then every ACME_CHECK_INTERVAL_MS (or sooner after a failure). */
  start(): void {
    void this.check();
  }

  /** The hosts ACME serves (those without their own certificate files) whose certificate needs issuing or renewing. */
  async due(): Promise<string[]> {
    const config = this.#opts.config();
    const out: string[] = [];
    for (const host of config.hosts.keys()) {
      if (certificateSource(config, host).kind === 'configured') continue;
      const { certificate } = managedCertificatePaths(config.data_dir, host);
      try {
        const leaf = new X509Certificate(await readFile(certificate));
        if (Date.parse(leaf.validTo) - Date.now() > config.acme.renew_before && namesHost(leaf, host)) continue;
      } catch {
        // none yet, or unreadable: issue one
      }
      out.push(host);
    }
    return out;
  }

  /** Issues or renews what is due; one run at a time (a reload during a run waits for it). */
  check(): Promise<void> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #run(): Promise<void> {
    clearTimeout(this.#timer);
    const config = this.#opts.config();
    if (!config.acme.enabled || this.#stopped) return;
    const log = this.#opts.log;
    let next = ACME_CHECK_INTERVAL_MS;
    const due = await this.due();
    let issued = 0;
    for (const host of due) {
      try {
        await this.#issue(config, host);
        issued++;
        log.info({ host }, 'ACME: certificate issued');
      } catch (err) {
        log.error({ host, err }, `ACME: no certificate for ${host} (trying again in ${Math.round(this.#retryMs / 60_000)} min)`);
        next = Math.min(next, this.#retryMs);
      }
    }
    this.#retryMs = next < ACME_CHECK_INTERVAL_MS ? Math.min(this.#retryMs * 2, ACME_CHECK_INTERVAL_MS) : FIRST_RETRY_MS;
    if (issued) await this.#opts.issued();
    if (!this.#stopped) {
      this.#timer = setTimeout(() => void this.check(), next);
      this.#timer.unref();
    }
  }

  async #issue(config: ServerConfig, host: string): Promise<void> {
    const { directory, email } = config.acme;
    const name = hostFileName(host);
    const client = new acme.Client({ directoryUrl: directory, accountKey: await accountKey(config.data_dir) });
    const [key, csr] = await acme.crypto.createCsr({ commonName: name, altNames: [name] }, await acme.crypto.createPrivateEcdsaKey());
    const { challenges } = this.#opts;
    const chain = await client.auto({
      csr,
      ...(email ? { email } : {}),
      termsOfServiceAgreed: config.acme.agree_tos,
      challengePriority: ['http-01'],
      // The CA's own fetch is the check: a self-test through port 80 fails behind NAT without hairpinning.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => challenges.set(challenge.token, keyAuthorization),
      challengeRemoveFn: async (_authz, challenge) => challenges.delete(challenge.token),
    });
    const paths = managedCertificatePaths(config.data_dir, host);
    // The key first: a reader that sees the new certificate then finds its key.
    await writeAtomic(paths.key, key.toString(), 0o600);
    await writeAtomic(paths.certificate, chain, 0o644);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
