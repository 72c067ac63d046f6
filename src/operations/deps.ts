// What operator commands need from a server, running or stopped: src/server.ts composes it from
// its parts, and the same operations run behind the control socket and in the offline CLI.
import type { Logger } from 'pino';
import type { ServerConfig } from '../core/config.ts';
import type { Accounts } from '../core/accounts.ts';
import type { IpBlocks } from '../core/ip-blocks.ts';
import type { DebugLog } from '../core/logger.ts';
import type { AuthThrottle } from '../core/auth-throttle.ts';
import type { RetentionEngine } from '../core/retention.ts';
import type { Hooks } from '../core/hooks.ts';
import type { StreamError } from '../core/errors.ts';
import type { AnyModule } from '../core/modules.ts';
import type { StorageBackend } from '../core/storage.ts';
import type { ReloadReport } from './reload.ts';
import type { SharedServices } from '../core/shared.ts';
import type { LeftoverData } from './leftover-data.ts';

/** Storage scope of server-wide data (not a valid domain, so it can't clash with a host). */
export const SERVER_SCOPE = '_server';

/** A client connection as operations see it: where it comes from, and how to end it. */
export interface OpenConnection {
  /** Only for matching blocks; never logged or stored. */
  readonly peerAddress: string | undefined;
  close(error: StreamError): void;
}

export interface OperationsDeps {
  readonly config: ServerConfig;
  readonly log: Logger;
  /** The store, with the key operations of encryption at rest (src/storage/encrypted.ts). */
  readonly storage: StorageBackend & { rotateMasterKey(key: Uint8Array): Promise<void>; rotateDataKey(): Promise<number> };
  readonly accounts: Accounts;
  /** The IP blocks in force: configured and run-time ones. */
  readonly blocks: IpBlocks;
  readonly debugLog: DebugLog;
  readonly retention: RetentionEngine;
  /** Failed-login records, in memory (empty while the server is stopped). */
  readonly throttle: AuthThrottle;
  /** The keyed hash that stands for an account in the log's failed-login lines. */
  accountHash(account: string): string;
  /** Every module the server can load (what the policy says each one stores). */
  readonly registry: ReadonlyMap<string, AnyModule>;
  /** Stores of modules turned off that still hold data (found at start; purge-module erases them). */
  readonly leftover: LeftoverData;
  /** The hosts served (their modules loaded), the default host first. */
  hosts(): string[];
  /** The hooks of a served host (user/created, user/deleted); undefined for any other name. */
  hooks(host: string): Hooks | undefined;
  /** The services the modules of a served host offer each other (e.g. invites); undefined for any other name. */
  shared(host: string): SharedServices | undefined;
  /** Ends every session of an account. */
  endSessions(host: string, user: string, error: StreamError): void;
  /** Open client connections: none while the server is stopped. */
  connections(): Iterable<OpenConnection>;
  /** Bound sessions, for status. */
  sessionCount(): number;
  /** Connections not authenticated yet, for status. */
  unauthenticated(): number;
  /** Service domains the modules claimed (e.g. conference.example.org), for certificate checks. */
  serviceDomains(): string[];
  /** Re-reads the configuration and certificates (src/operations/reload.ts); refused while the server is stopped. */
  reload(): Promise<ReloadReport>;
}
