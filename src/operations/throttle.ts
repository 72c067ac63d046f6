// `jabberx throttle list` and `throttle clear ACCOUNT|ADDRESS`: the brute-force throttle's records
// (src/core/auth-throttle.ts), which live in the running server's memory only. Addresses are shown
// to the operator here, on the CLI, and never written to the main log.
import { isIP } from 'node:net';
import { addressKey } from '../core/auth-throttle.ts';
import { parseJid } from '../core/jid.ts';
import type { OperationsDeps } from './deps.ts';

export interface ThrottleListing {
  accounts: Array<{ account: string; hash: string; failures: number; locked: boolean; until: string }>;
  addresses: Array<{ address: string; failures: number; locked: boolean; until: string }>;
}

export function listThrottle(deps: OperationsDeps): ThrottleListing {
  const { accounts, addresses } = deps.throttle.entries();
  const byFailures = <T extends { failures: number }>(a: T, b: T) => b.failures - a.failures;
  return {
    accounts: accounts.sort(byFailures).map((e) => ({ account: e.key, hash: deps.accountHash(e.key), failures: e.failures, locked: e.locked, until: new Date(e.expires).toISOString() })),
    addresses: addresses.sort(byFailures).map((e) => ({ address: e.key, failures: e.failures, locked: e.locked, until: new Date(e.expires).toISOString() })),
  };
}

/** What `throttle clear` was given: an account (user@host) or an address (an IPv6 one stands for its /64). */
export function throttleTarget(text: string): { account: string } | { address: string } {
  if (isIP(text)) return { address: text };
  const v6net = /^([0-9a-f:]+)\/64$/i.exec(text);
  if (v6net && isIP(v6net[1] ?? '') === 6) return { address: v6net[1] ?? '' };
  const jid = parseJid(text);
  if (!jid.local || jid.resource) throw new Error(`${text}: expected an account (user@host) or an IP address`);
  return { account: jid.toString() };
}

export function clearThrottle(deps: OperationsDeps, text: string): { cleared: string } {
  const target = throttleTarget(text);
  const key = 'account' in target ? target.account : addressKey(target.address);
  if (!deps.throttle.clear(target)) throw new Error(`no failed logins are recorded for ${key}`);
  deps.log.info(`the operator cleared the failed-login record of ${'account' in target ? 'an account' : 'an address'}`);
  return { cleared: key };
}
