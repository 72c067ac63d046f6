// What streams need from the running server; implemented by the composition root (src/server.ts).
import type { Logger } from 'pino';
import type { ServerConfig } from './config.ts';
import type { Accounts } from './accounts.ts';
import type { SessionManager } from './sessions.ts';
import type { Router } from './router.ts';
import type { HostRuntime } from './module-loader.ts';
import type { AuthThrottle } from './auth-throttle.ts';
import type { FastTokens } from './fast-tokens.ts';

export interface ServerCore {
  readonly config: ServerConfig;
  readonly log: Logger;
  /** The logger of client streams, shared by all of them. */
  readonly c2sLog: Logger;
  readonly accounts: Accounts;
  readonly sessions: SessionManager;
  readonly router: Router;
  readonly defaultHost: string;
  /** A per-installation random secret (fake SCRAM salts for unknown users). */
  readonly secret: Buffer;
  /** Failed-login counts per address and account, in memory only. */
  readonly throttle: AuthThrottle;
  /** XEP-0484 FAST tokens (hashes only). */
  readonly fastTokens: FastTokens;
  /** The runtime of a served domain, or undefined. */
  host(name: string): HostRuntime | undefined;
  /** Prepares a domain from a stream header; undefined when this server doesn't serve it. */
  prepHost(domain: string): string | undefined;
}
