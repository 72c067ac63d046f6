// The brute-force throttle around SASL steps, one behaviour for RFC 6120 SASL and XEP-0388 SASL2
// (and FAST tokens in it): the same refusals, the same counts, the same delays.
import type { SaslStep } from '../sasl.ts';
import type { ServerCore } from '../server-core.ts';

/** Before an exchange starts: a refusal when the address is over its limit. */
export function throttleRefusal(core: ServerCore, peer: string | undefined): Extract<SaslStep, { kind: 'failure' }> | undefined {
  if (!core.throttle.check(peer).refuse) return undefined;
  return { kind: 'failure', condition: 'temporary-auth-failure', text: 'Too many failed logins from your address; try again later' };
}

/**
 * After a step: a success for an account under attack from an address that failed becomes a
 * refusal; a failure is counted (wrong credentials against the address and the account, a
 * channel-binding mismatch against the account only, malformed or aborted exchanges not at all)
 * and, past the threshold, answered late.
 */
export async function guardStep(core: ServerCore, peer: string | undefined, host: string, username: string | undefined, step: SaslStep): Promise<SaslStep> {
  if (step.kind === 'success' && core.throttle.accountLocked(`${step.user}@${host}`, peer)) {
    return { kind: 'failure', condition: 'temporary-auth-failure', text: 'Too many failed logins for this account; try again later' };
  }
  // RFC 6120 §6.5.1: a suspended account is told so, after its credentials proved who it is.
  if (step.kind === 'success' && (await core.accounts.isDisabled(host, step.user))) {
    return { kind: 'failure', condition: 'account-disabled', text: 'This account has been disabled by the operator of this service' };
  }
  if (step.kind !== 'failure' || step.counts === undefined) return step;
  const account = username === undefined ? undefined : `${username}@${host}`;
  if (step.counts === 'credentials') {
    core.throttle.failed(peer, account);
    const verdict = core.throttle.check(peer);
    // Slow down guessing: the failure answer waits longer after each failure past the
    // threshold. The stream reads nothing meanwhile (its inbox is busy), so nothing piles up.
    if (!verdict.refuse && verdict.delayMs > 0) await new Promise((r) => setTimeout(r, verdict.delayMs));
  } else if (account !== undefined) {
    core.throttle.failedAccount(account);
  }
  return step;
}
