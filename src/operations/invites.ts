// `jabberx invite HOST`: an account invite (XEP-0401) made by the operator, through the invites
// module of the host (running or stopped server alike).
import type { OperationsDeps } from './deps.ts';
import type { CreatedInvite } from '../modules/invites/api.ts';

export type { CreatedInvite };

/** The host is unknown or has no invites module. */
export class InviteUnavailable extends Error {}

export async function createInvite(deps: OperationsDeps, host: string, lifetimeMs: number | undefined): Promise<CreatedInvite> {
  if (!deps.hosts().includes(host)) throw new InviteUnavailable(`${host} is not a host of this server`);
  const issuer = deps.shared(host)?.get('invite-issuer');
  if (!issuer) throw new InviteUnavailable(`invites are off on ${host}: enable the invites module (modules: { invites: {} }) to make invites`);
  return issuer.createAccountInvite({ lifetimeMs });
}
