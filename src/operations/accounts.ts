// `jabberx adduser`, `passwd`, `deluser`, `list-users`: on a running server, sessions end and
// caches update at once; on a stopped one, the modules' hooks (e.g. roster clean-up) still run.
import { AccountError } from '../core/accounts.ts';
import { StreamError } from '../core/errors.ts';
import { revokeFastTokens } from '../core/fast-tokens.ts';
import type { OperationsDeps } from './deps.ts';
import type { AccountsApi } from '../core/modules.ts';
import { exportUser } from './portable.ts';

function checkHost(deps: OperationsDeps, host: string): void {
  if (!deps.hosts().includes(host)) throw new AccountError(`${host} is not a host of this server`);
}

export async function addUser(deps: OperationsDeps, host: string, user: string, password: string): Promise<void> {
  checkHost(deps, host);
  await deps.accounts.create(host, user, password);
  await deps.hooks(host)?.emit('user/created', { host, user });
}

export async function changePassword(deps: OperationsDeps, host: string, user: string, password: string): Promise<void> {
  checkHost(deps, host);
  await deps.accounts.setPassword(host, user, password);
}

/** Deletes an account and everything stored for it, ending its sessions first; the address is free at once. */
export async function deleteUser(deps: OperationsDeps, host: string, user: string, reason = 'This account has been deleted'): Promise<void> {
  checkHost(deps, host);
  deps.endSessions(host, user, new StreamError('not-authorized', reason));
  if (!(await deps.accounts.exists(host, user))) throw new AccountError(`${user}@${host} does not exist`);
  await deps.hooks(host)?.emit('user/deleting', { host, user });
  await deps.accounts.delete(host, user);
  await deps.hooks(host)?.emit('user/deleted', { host, user });
}

/** Suspends an account (termination for a breach of the terms) without deleting it: its sessions end, logins are refused. */
export async function disableUser(deps: OperationsDeps, host: string, user: string): Promise<void> {
  checkHost(deps, host);
  await deps.accounts.setDisabled(host, user, true);
  deps.endSessions(host, user, new StreamError('not-authorized', 'This account has been disabled'));
}

export async function enableUser(deps: OperationsDeps, host: string, user: string): Promise<void> {
  checkHost(deps, host);
  await deps.accounts.setDisabled(host, user, false);
}

/** The suspended accounts of a host (list-users marks them). */
export async function disabledUsers(deps: OperationsDeps, host: string): Promise<string[]> {
  checkHost(deps, host);
  const out: string[] = [];
  for (const user of await deps.accounts.list(host)) if (await deps.accounts.isDisabled(host, user)) out.push(user);
  return out;
}

/** Revokes the account's FAST login tokens (XEP-0484): its clients log in with the password next time. */
export async function revokeTokens(deps: OperationsDeps, host: string, user: string): Promise<number> {
  checkHost(deps, host);
  if (!(await deps.accounts.exists(host, user))) throw new AccountError(`${user}@${host} does not exist`);
  return revokeFastTokens(deps.storage, host, user);
}

export function listUsers(deps: OperationsDeps, host: string): Promise<string[]> {
  return deps.accounts.list(host);
}

/** A password login through the SASL brute-force throttle (AccountsApi.authenticate). */
export async function authenticate(deps: OperationsDeps, host: string, user: string, password: string, peer: string | undefined): Promise<'ok' | 'wrong' | 'throttled' | 'disabled'> {
  const throttle = deps.throttle;
  if (throttle.check(peer).refuse) return 'throttled';
  const account = `${user}@${host}`;
  if (await deps.accounts.checkPassword(host, user, password)) {
    if (throttle.accountLocked(account, peer)) return 'throttled';
    return (await deps.accounts.isDisabled(host, user)) ? 'disabled' : 'ok';
  }
  throttle.failed(peer, account);
  const verdict = throttle.check(peer);
  if (!verdict.refuse && verdict.delayMs > 0) await new Promise((r) => setTimeout(r, verdict.delayMs));
  return 'wrong';
}

/** The account operations of one host, as modules reach them (ctx.accounts). */
export function hostAccounts(deps: OperationsDeps, host: string): AccountsApi {
  return {
    exists: (user) => deps.accounts.exists(host, user),
    create: (user, password) => addUser(deps, host, user, password),
    setPassword: (user, password) => changePassword(deps, host, user, password),
    checkPassword: (user, password) => deps.accounts.checkPassword(host, user, password),
    authenticate: (user, password, peer) => authenticate(deps, host, user, password, peer),
    delete: (user, reason) => deleteUser(deps, host, user, reason),
    setDisabled: (user, disabled) => (disabled ? disableUser(deps, host, user) : enableUser(deps, host, user)),
    isDisabled: (user) => deps.accounts.isDisabled(host, user),
    list: () => deps.accounts.list(host),
    endSessions: (user, reason) => deps.endSessions(host, user, new StreamError('not-authorized', reason)),
    exportXml: (user) => exportUser(deps, host, user),
  };
}
