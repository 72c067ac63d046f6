// Composition root: config -> storage -> accounts/sessions/router -> hosts and modules -> listeners.
import { domainToASCII } from 'node:url';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ServerConfig } from './core/config.ts';
import { prepareDomain } from './core/config.ts';
import { createLogger, DebugLog } from './core/logger.ts';
import { Accounts } from './core/accounts.ts';
import { HttpRoutes } from './core/http-routes.ts';
import { hostAccounts } from './operations/accounts.ts';
import { SessionManager } from './core/sessions.ts';
import { Router } from './core/router.ts';
import { HostRuntime, loadHostModules } from './core/module-loader.ts';
import { ClientStream, type Admission } from './core/stream/client-stream.ts';
import { ConnectionGate } from './core/connection-gate.ts';
import { StreamError } from './core/errors.ts';
import { AuthThrottle } from './core/auth-throttle.ts';
import { FailedLoginReport } from './core/failed-login-report.ts';
import { FailedLoginAddressLog } from './core/failed-login-address-log.ts';
import { traceTransport } from './core/transport-trace.ts';
import { FastTokens } from './core/fast-tokens.ts';
import { IpBlocks } from './core/ip-blocks.ts';
import { RetentionEngine } from './core/retention.ts';
import type { ServerCore } from './core/server-core.ts';
import type { AnyModule, ServerInfo } from './core/modules.ts';
import { SqliteBackend } from './storage/sqlite.ts';
import { EncryptedBackend } from './storage/encrypted.ts';
import { loadMasterKey, writeNewKeyFile } from './storage/encryption/key-providers.ts';
import { ServedCertificates } from './transports/served-certificates.ts';
import { watchCertificateFiles, type FileWatch } from './transports/certificate-watch.ts';
import { checkCertificates } from './transports/certificate-check.ts';
import { AcmeChallenges, AcmeManager } from './transports/acme.ts';
import { listenC2s, type Listener } from './transports/tcp.ts';
import { listenError } from './transports/listen.ts';
import { listenControl } from './transports/control-socket.ts';
import { listenHttp } from './transports/http.ts';
import { policyPage } from './policy/render.ts';
import { moduleRegistry } from './modules/registry.ts';
import type { OperationsDeps } from './operations/deps.ts';
import { handleControlRequest } from './operations/control.ts';
import { loadStoredBlocks } from './operations/ip-blocks.ts';
import { policyFacts, stampPolicy } from './operations/policy.ts';
import { LeftoverData, warnLeftoverData } from './operations/leftover-data.ts';
import { reloadableConfig, settingChanges, type ReloadReport } from './operations/reload.ts';
import { VERSION } from './version.ts';

export function controlSocketPath(config: ServerConfig): string {
  return join(config.data_dir, 'control.sock');
}

/**
 * The store: SQLite under encryption at rest. The master key comes from the configured provider
 * when the store opens; on the very first start (no database, no key file) a key file is made
 * beside the configuration, outside data_dir.
 */
export function openStorage(config: ServerConfig, log?: Logger): EncryptedBackend {
  mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
  const { path, key_provider: provider, key_file: file, key_env: env, key_command: command } = config.storage;
  const storageLog = log?.child({ component: 'storage' });
  return new EncryptedBackend({
    backend: new SqliteBackend({ path, busyWaitMs: config.storage.busy_wait }),
    ...(storageLog ? { log: storageLog } : {}),
    masterKey: async () => {
      if (provider === 'file' && !existsSync(file) && !existsSync(path)) {
        writeNewKeyFile(file, { dataDir: config.data_dir });
        log?.warn({ keyFile: file }, 'first start: made a new master key file; keep a copy apart from the data, and for production move it to another mount or a KMS');
      }
      return loadMasterKey({ provider, file, env, command: command || undefined }, { dataDir: config.data_dir });
    },
  });
}

/** A random per-installation secret kept in the data directory (mode 0600). */
function loadOrCreateSecret(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    const secret = randomBytes(32);
    writeFileSync(path, secret, { mode: 0o600, flag: 'wx' });
    return secret;
  }
}

export class Server implements ServerCore {
  /** The running configuration; a reload replaces it with one whose reloadable settings are the file's. */
  config: ServerConfig;
  /** Where reload() reads the configuration file (set by `jabberx start`); without it, reload re-reads certificates only. */
  configSource: (() => ServerConfig) | undefined;
  readonly log: Logger;
  readonly c2sLog: Logger;
  readonly storage: EncryptedBackend;
  readonly accounts: Accounts;
  /** Web routes modules serve on the HTTP(S) listeners. */
  readonly httpRoutes = new HttpRoutes();
  readonly sessions = new SessionManager();
  readonly router: Router;
  readonly defaultHost: string;
  readonly secret: Buffer;
  readonly throttle: AuthThrottle;
  readonly fastTokens: FastTokens;
  readonly blocks: IpBlocks;
  /** Connection rates and unauthenticated-connection caps, in memory only. */
  readonly gate: ConnectionGate;
  readonly retention: RetentionEngine;
  readonly #hosts = new Map<string, HostRuntime>();
  readonly #listeners: Listener[] = [];
  #control: { close(): Promise<void> } | undefined;
  /** The certificates and TLS settings the listeners serve; replaced in place by a reload. */
  #certificates: ServedCertificates | undefined;
  #certificateWatch: FileWatch | undefined;
  readonly #acmeChallenges = new AcmeChallenges();
  #acme: AcmeManager | undefined;
  readonly #streams = new Set<ClientStream>();
  #policyChanged = new Date().toISOString();
  readonly ports: Record<string, number> = {};

  readonly debugLog: DebugLog;

  /** What operator commands act on (src/operations/), from the control socket or the offline CLI. */
  readonly operations: OperationsDeps;

  /** `registry` is every module the server can load (embedders and fault tests add their own). */
  constructor(config: ServerConfig, log?: Logger, registry: ReadonlyMap<string, AnyModule> = moduleRegistry) {
    this.config = config;
    mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
    this.debugLog = new DebugLog(join(config.data_dir, 'debug.log'));
    this.log = log ?? createLogger(config.log, this.debugLog);
    this.c2sLog = this.log.child({ component: 'c2s' });
    this.storage = openStorage(config, this.log);
    this.accounts = new Accounts(this.storage, config.auth.scram_iterations);
    this.router = new Router(this.sessions, this.accounts, (h) => this.#hosts.get(h)?.hooks, this.log.child({ component: 'router' }));
    const first = [...config.hosts.keys()][0];
    if (!first) throw new Error('no host configured');
    this.defaultHost = first;
    this.secret = loadOrCreateSecret(join(config.data_dir, 'server.secret'));
    const sec = config.security;
    // Failed logins reach the main log without addresses; with log.failed_login_file, their
    // addresses reach that file (fail2ban), which the retention engine keeps short.
    const addressLog = config.log.failed_login_file ? new FailedLoginAddressLog(config.log.failed_login_file) : undefined;
    const failedLogins = new FailedLoginReport({ log: this.log.child({ component: 'auth' }), accountNames: config.log.account_names, secret: this.secret, addressLog });
    this.throttle = new AuthThrottle({
      windowMs: sec.failed_login_window,
      delayAfter: sec.failed_login_delay_after,
      maxPerAddress: sec.failed_login_max_per_address,
      maxPerAccount: sec.failed_login_max_per_account,
    }, failedLogins);
    const fast = config.fast;
    this.fastTokens = new FastTokens(this.storage, this.secret, { lifetimeMs: fast.token_lifetime, rotateAfterMs: fast.rotate_after, maxClients: fast.max_clients_per_account });
    this.blocks = new IpBlocks(sec.blocked_ips);
    const limits = config.limits;
    this.gate = new ConnectionGate({
      maxUnauthenticated: limits.max_unauthenticated,
      maxUnauthenticatedPerAddress: limits.max_unauthenticated_per_address,
      ratePerAddress: limits.connection_rate_per_address,
      burstPerAddress: limits.connection_burst_per_address,
    });
    this.retention = new RetentionEngine(this.log.child({ component: 'retention' }));
    // Failed-login records expire on their own; the engine reports how many went.
    this.retention.register({
      name: 'failed-login records',
      maxAgeMs: sec.failed_login_window,
      purge: () => {
        const before = this.throttle.size;
        this.throttle.sweep();
        const after = this.throttle.size;
        return before.addresses - after.addresses + (before.accounts - after.accounts);
      },
    });
    if (addressLog) {
      this.retention.register({ name: 'failed-login log (addresses of failed logins)', maxAgeMs: config.log.failed_login_retention, purge: (cutoff) => addressLog.purge(cutoff) });
    }
    // XEP-0484 tokens expire on their own; the engine deletes their hashes once they have.
    this.retention.register({
      name: 'FAST login tokens',
      maxAgeMs: fast.token_lifetime,
      purge: async () => {
        let n = 0;
        for (const host of this.#hosts.keys()) n += await this.fastTokens.purgeExpired(host);
        return n;
      },
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getter below reads the config a reload replaced
    const server = this;
    this.operations = {
      get config() {
        return server.config;
      },
      log: this.log,
      storage: this.storage,
      accounts: this.accounts,
      blocks: this.blocks,
      debugLog: this.debugLog,
      retention: this.retention,
      throttle: this.throttle,
      accountHash: (account) => failedLogins.accountHash(account),
      registry,
      // A purge changes what /privacy states: the policy is dated anew.
      leftover: new LeftoverData(async () => {
        this.#policyChanged = await stampPolicy(this.operations);
      }),
      hosts: () => [...this.#hosts.keys()],
      hooks: (host) => this.#hosts.get(host)?.hooks,
      shared: (host) => this.#hosts.get(host)?.shared,
      endSessions: (host, user, error) => {
        for (const c of this.sessions.accountConnections(host, user)) c.close(error);
      },
      connections: () => this.#streams,
      sessionCount: () => this.sessions.count(),
      unauthenticated: () => this.gate.unauthenticated,
      serviceDomains: () => this.router.serviceDomains(),
      reload: () => this.reload(),
    };
  }

  /** A module's web route: for the host the Host header names (or whose service domain it names), else the default host. */
  #webRoute(path: string, hostHeader: string | undefined) {
    const hosts = [...this.#hosts.keys()];
    const named = hostHeader ? prepareDomain(hostHeader.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1')) : undefined;
    const candidates: string[] = [];
    if (named !== undefined) {
      const owner = hosts.find((h) => named === h) ?? hosts.find((h) => named.endsWith('.' + h));
      if (owner) candidates.push(owner);
    }
    if (hosts[0] !== undefined) candidates.push(hosts[0]);
    return this.httpRoutes.find(path, candidates);
  }

  /** The https listener, else the http one, at the host's name: the port it listens on (or is configured to, while stopped). */
  #webBase(host: string): string | undefined {
    for (const type of ['https', 'http'] as const) {
      const l = this.config.listeners.find((x) => x.type === type);
      const port = this.ports[type] ?? l?.port;
      if (!l || !port) continue;
      return `${type}://${domainToASCII(host)}${port === (type === 'https' ? 443 : 80) ? '' : `:${port}`}`;
    }
    return undefined;
  }

  host(name: string): HostRuntime | undefined {
    return this.#hosts.get(name);
  }

  prepHost(domain: string): string | undefined {
    const d = prepareDomain(domain);
    return d !== undefined && this.#hosts.has(d) ? d : undefined;
  }

  get info(): ServerInfo {
    const hosts = [...this.config.hosts.keys()];
    const p = this.config.policy;
    return {
      name: 'JabberX', version: VERSION, hosts, isLocalHost: (d) => this.#hosts.has(d), serviceName: p.service_name,
      isServiceDomain: (d) => this.router.domainKind(d) === 'service',
      contactAddresses: {
        abuse: p.abuse_addresses, admin: p.admin_addresses, feedback: p.feedback_addresses, sales: p.sales_addresses,
        security: p.security_addresses, status: p.status_addresses, support: p.support_addresses,
      },
    };
  }

  /**
   * Starts the server. With `listen: false` only storage and modules come up (no sockets, no
   * timers): the CLI runs operator commands (src/operations/) on that while the server is stopped,
   * so that the modules' hooks (e.g. roster clean-up on deletion) still run.
   */
  async start(opts: { listen?: boolean } = {}): Promise<void> {
    await this.storage.open();
    await loadStoredBlocks(this.operations);
    for (const [name, hostCfg] of this.config.hosts) {
      const rt = new HostRuntime(name);
      this.#hosts.set(name, rt);
      await loadHostModules(rt, hostCfg, this.operations.registry, {
        server: this.info,
        retention: this.retention,
        storage: this.storage,
        sessions: this.sessions,
        router: this.router,
        log: this.log,
        accounts: (host) => hostAccounts(this.operations, host),
        admins: () => this.config.security.admins,
        httpRoutes: this.httpRoutes,
        webBase: (host) => this.#webBase(host),
        dataDir: this.config.data_dir,
      });
    }
    if (opts.listen === false) return;
    warnLeftoverData(this.log, await this.operations.leftover.refresh(this.operations));
    const certificates = (this.#certificates = await ServedCertificates.load(this.config));
    const tlsSetup = certificates.setup;
    this.#policyChanged = await stampPolicy(this.operations);
    for (const [i, l] of this.config.listeners.entries()) {
      const named = (e: unknown) => Promise.reject(listenError(e, `listeners[${i}] (${l.type}${l.line ? `, line ${l.line}` : ''})`, l.address, l.port));
      if (l.type === 'http' || l.type === 'https') {
        const listener = await listenHttp(
          {
            port: l.port,
            address: l.address,
            ...(l.type === 'https' ? { tls: tlsSetup } : {}),
            onError: (err) => this.log.error({ err }, 'web page failed'),
            routes: (path, hostHeader) => this.#webRoute(path, hostHeader),
            requestTimeoutMs: this.httpRoutes.longestRequestMs(),
          },
          (address) => !this.blocks.isBlocked(address),
          // ACME's HTTP-01 answers first: the CA fetches them from here (RFC 8555 §8.3).
          (path) => this.#acmeChallenges.page(path) ?? policyPage(path, policyFacts(this.operations, this.#policyChanged)),
        ).catch(named);
        certificates.onChange(() => listener.refreshTls());
        this.#listeners.push(listener);
        this.ports[l.type] = listener.port;
        continue;
      }
      const listener = await listenC2s(
        { port: l.port, address: l.address, direct: l.type === 'c2s_direct_tls', maxStanzaSize: this.config.limits.preauth_max_stanza_size },
        tlsSetup,
        (address): Admission | false => {
          if (this.blocks.isBlocked(address)) return false;
          const verdict = this.gate.admit(address);
          // A direct-TLS peer can't read a plaintext refusal: cut it before any TLS work.
          if ('refusal' in verdict && l.type === 'c2s_direct_tls') return false;
          return verdict;
        },
        (transport, admission) => {
          // The debug log's view of the stream (top tags, SASL steps, errors), only while it is on.
          const stream = new ClientStream(this, traceTransport(transport, this.c2sLog, this.debugLog), admission);
          this.#streams.add(stream);
          transport.onClose(() => this.#streams.delete(stream));
        },
      ).catch(named);
      this.#listeners.push(listener);
      this.ports[l.type] = listener.port;
    }
    await this.#warnAboutCertificates();
    if (this.config.listeners.some((l) => l.type === 'http')) {
      this.#acme = new AcmeManager({ config: () => this.config, log: this.log.child({ component: 'acme' }), challenges: this.#acmeChallenges, issued: async () => void (await this.reloadCertificates()) });
      this.#acme.start();
    }
    if (this.config.tls.watch) {
      this.#certificateWatch = watchCertificateFiles(ServedCertificates.files(this.config), () => void this.#certificateFilesChanged());
    }
    this.retention.start(this.config.security.retention_interval);
    this.#control = await listenControl(controlSocketPath(this.config), (req) => handleControlRequest(this.operations, req));
    this.log.info({ hosts: [...this.#hosts.keys()], ports: this.ports, version: VERSION }, 'JabberX started');
  }

  /** Logs what `check certs` would say of the served certificates: not refused, but not to go unnoticed. */
  async #warnAboutCertificates(): Promise<void> {
    for (const report of await checkCertificates(this.config, { serviceDomains: this.router.serviceDomains() })) {
      for (const f of report.findings) this.log.warn({ host: report.host, problem: f.message }, 'certificate');
    }
  }

  /**
   * Re-reads every host's certificate and key under the running settings: new connections get
   * them, open ones keep theirs; a host whose new certificate can't be served keeps its old one.
   */
  async reloadCertificates(): Promise<Record<string, string>> {
    if (!this.#certificates) throw new Error('the server is not listening');
    const outcome = await this.#certificates.reload(this.config);
    this.#certificateWatch?.update(ServedCertificates.files(this.config));
    for (const [host, result] of Object.entries(outcome)) {
      if (result === 'replaced') this.log.info({ host }, 'certificate replaced; new connections get it');
      else if (result !== 'unchanged') this.log.error({ host, problem: result }, 'new certificate refused; the one in use stays');
    }
    return outcome;
  }

  #logReload(trigger: string, report: ReloadReport): void {
    const log = this.log;
    log.info({ certificates: report.certificates }, `${trigger}: certificates re-read; new connections get them`);
    if (report.configError !== undefined) log.warn({ problem: report.configError }, `${trigger}: the configuration file no longer loads; the running settings stay`);
    if (report.applied.length) log.info({ applied: report.applied }, `${trigger}: settings applied`);
    if (report.restart.length) log.warn({ restart: report.restart }, `${trigger}: settings changed in the configuration file need a restart to take effect`);
    if (report.configError === undefined && !report.applied.length && !report.restart.length) log.info(`${trigger}: no setting changed in the configuration file`);
  }

  /** A certificate file or folder changed (a certbot renewal): re-read them, as a reload would. */
  async #certificateFilesChanged(): Promise<void> {
    try {
      const outcome = await this.reloadCertificates();
      this.log.info({ certificates: outcome }, 'certificate files changed: certificates re-read');
      if (Object.values(outcome).some((r) => r !== 'unchanged')) await this.#warnAboutCertificates();
    } catch (err) {
      this.log.error({ err }, 'certificate files changed but could not be re-read; the ones in use stay');
    }
  }

  /**
   * SIGHUP and `jabberx reload`: re-reads the configuration file, applies what can change while
   * running (certificates and TLS settings, ACME, the policy pages) and names what needs a restart.
   * A file that no longer loads changes no setting; the certificates are re-read all the same.
   */
  async reload(trigger: 'SIGHUP' | 'jabberx reload' = 'jabberx reload'): Promise<ReloadReport> {
    const report: ReloadReport = { applied: [], restart: [], certificates: {} };
    if (this.configSource) {
      try {
        const fresh = this.configSource();
        Object.assign(report, settingChanges(this.config, fresh));
        this.config = reloadableConfig(this.config, fresh);
      } catch (e) {
        report.configError = (e as Error).message;
      }
    }
    report.certificates = await this.reloadCertificates();
    if (report.applied.some((k) => k === 'tls.watch')) {
      this.#certificateWatch?.close();
      this.#certificateWatch = this.config.tls.watch ? watchCertificateFiles(ServedCertificates.files(this.config), () => void this.#certificateFilesChanged()) : undefined;
    }
    if (report.applied.some((k) => k.startsWith('policy.'))) this.#policyChanged = await stampPolicy(this.operations);
    this.#logReload(trigger, report);
    await this.#warnAboutCertificates();
    // Renewal is due when renew_before says so, which a reload may have changed.
    if (this.config.acme.enabled) {
      if (this.#acme) void this.#acme.check();
      else this.log.warn('acme is enabled but the server runs without an http listener: add one and restart');
    }
    return report;
  }

  async stop(): Promise<void> {
    this.#certificateWatch?.close();
    this.#acme?.stop();
    await this.#control?.close();
    for (const [host, rt] of this.#hosts) {
      await rt.hooks.emit('server/stopping', { host }).catch((err: unknown) => this.log.warn({ err }, 'server/stopping hook failed'));
    }
    for (const c of this.sessions.connections()) c.close(new StreamError('system-shutdown'));
    await Promise.all(this.#listeners.splice(0).map((l) => l.close().catch(() => undefined)));
    for (const rt of this.#hosts.values()) await rt.unload(this.log);
    this.throttle.stop();
    this.gate.stop();
    this.debugLog.off();
    await this.retention.stop();
    await this.storage.close();
    if (this.#control) this.log.info('JabberX stopped');
    this.log.flush();
  }
}
