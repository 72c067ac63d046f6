// `jabberx adduser`, `passwd`, `deluser`, `list-users`: on a running server, sessions end and
// caches update at once; on a stopped one, the modules' hooks (e.g. roster clean-up) still run.
import { AccountError } from '../core/accounts.ts';
import { StreamError } from '../core/errors.ts';
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

export function listUsers(deps: OperationsDeps, host: string): Promise<string[]> {
  return deps.accounts.list(host);
}
