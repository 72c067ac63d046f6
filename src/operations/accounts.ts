// `jabberx adduser`, `passwd`, `deluser`, `list-users`: on a running server, sessions end and
// caches update at once; on a stopped one, the modules' hooks (e.g. roster clean-up) still run.
import { AccountError } from '../core/accounts.ts';
import { StreamError } from '../core/errors.ts';
import { revokeFastTokens } from '../core/fast-tokens.ts';
import type { OperationsDeps } from './deps.ts';

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
export async function deleteUser(deps: OperationsDeps, host: string, user: string): Promise<void> {
  checkHost(deps, host);
  deps.endSessions(host, user, new StreamError('not-authorized', 'This account has been deleted'));
  await deps.accounts.delete(host, user);
  await deps.hooks(host)?.emit('user/deleted', { host, user });
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
