// What the operator sees of failed logins (the privacy policy's one exception for addresses): the
// main log gets each counted failure and each lockout at info level, naming the account by a keyed
// hash (or by its address with log.account_names) and never the peer address; the optional
// failed-login log (log.failed_login_file, for fail2ban) gets the address of each failure.
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { ThrottleObserver } from './auth-throttle.ts';
import type { FailedLoginAddressLog } from './failed-login-address-log.ts';

export interface FailedLoginReportOptions {
  log: Logger;
  /** log.account_names: the account's address (user@host) instead of its keyed hash. */
  accountNames: boolean;
  /** The per-installation secret that keys the hashes (data_dir/server.secret). */
  secret: Buffer;
  /** The failed-login log with addresses, when the operator switched it on. */
  addressLog?: FailedLoginAddressLog | undefined;
}

/**
 * A stable pseudonym of an account for the logs: 12 hex digits of HMAC-SHA-256 under the
 * installation's secret, so the same account always reads the same, but nobody without the secret
 * can test guesses against it. `jabberx throttle list` shows it beside the account's name.
 */
export function accountHash(secret: Buffer, account: string): string {
  return createHmac('sha256', secret).update(`failed-login:${account}`).digest('hex').slice(0, 12);
}

export class FailedLoginReport implements ThrottleObserver {
  readonly #opts: FailedLoginReportOptions;

  constructor(opts: FailedLoginReportOptions) {
    this.#opts = opts;
  }

  accountHash(account: string): string {
    return accountHash(this.#opts.secret, account);
  }

  /** The log fields naming an account: `account` when opted in, else `accountHash`. */
  #who(account: string | undefined): Record<string, string> {
    if (account === undefined) return {};
    return this.#opts.accountNames ? { account } : { accountHash: this.accountHash(account) };
  }

  failed(e: Parameters<ThrottleObserver['failed']>[0]): void {
    if (e.kind === 'credentials') this.#opts.addressLog?.record(e.address);
    const why = e.kind === 'credentials' ? 'wrong credentials' : 'channel-binding mismatch';
    if (e.account === undefined) this.#opts.log.info({ reason: why }, 'failed login (no account named)');
    else this.#opts.log.info({ ...this.#who(e.account), failures: e.accountFailures, reason: why }, 'failed login');
  }

  addressLocked(e: Parameters<ThrottleObserver['addressLocked']>[0]): void {
    this.#opts.log.warn({ ...this.#who(e.account), failures: e.failures, until: new Date(e.until).toISOString() },
      'an address is refused after too many failed logins (jabberx throttle list shows it)');
  }

  accountLocked(e: Parameters<ThrottleObserver['accountLocked']>[0]): void {
    this.#opts.log.warn({ ...this.#who(e.account), failures: e.failures, until: new Date(e.until).toISOString() },
      'account locked: addresses that failed for it are refused (jabberx throttle clear ACCOUNT lifts it)');
  }
}
