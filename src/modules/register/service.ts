// Registration as one sequence for every way in (XEP-0077 in-band, the web pages): mode, rules,
// rate limits, invitation or CAPTCHA, then the account.
import type { Logger } from 'pino';
import type { AccountsApi } from '../../core/modules.ts';
import type { InviteService } from '../../core/invite-service.ts';
import { RegistrationError, type RegistrationMode, type RegistrationRequest, type RegistrationService } from '../../core/registration-service.ts';
import { AccountError } from '../../core/accounts.ts';
import { checkPassword, checkUsername, type AccountRules } from '../../lib/registration-rules.ts';
import type { RegistrationLimits } from './limits.ts';
import type { CaptchaChallenges } from './captcha-challenges.ts';

/** XEP-0445: an invitation accepted at <preauth/> on the registering stream. */
export interface PreauthorizedInvite {
  token: string;
  username?: string;
}

export interface RegistrationDeps {
  mode: RegistrationMode;
  rules: AccountRules;
  /** Read when needed (in-process test hosts have none). */
  accounts: () => AccountsApi;
  limits: RegistrationLimits;
  captchas: CaptchaChallenges;
  /** The host's invitations, when a module provides them. */
  invites: () => InviteService | undefined;
  log: Logger;
}

export class Registration implements RegistrationService {
  readonly #d: RegistrationDeps;

  constructor(deps: RegistrationDeps) {
    this.#d = deps;
  }

  get mode(): RegistrationMode {
    return this.#d.mode;
  }

  /** Registration can happen here now: not closed, and invite mode has its invitations. */
  get open(): boolean {
    return this.#d.mode !== 'closed' && (this.#d.mode !== 'invite' || this.#d.invites() !== undefined);
  }

  newCaptcha(): { id: string; png: Buffer } {
    return this.#d.captchas.issue();
  }

  checkPassword(password: string, user?: string): string | undefined {
    return checkPassword(password, this.#d.rules, user);
  }

  get passwordRules(): string {
    return `At least ${this.#d.rules.minPasswordLength} characters, not containing the user name, and not a common password.`;
  }

  checkUsername(user: string): string | undefined {
    const checked = checkUsername(user, this.#d.rules);
    return 'reason' in checked ? checked.reason : undefined;
  }

  /** The username as it would be stored; throws not-acceptable with the reason. */
  username(raw: string): string {
    const checked = checkUsername(raw, this.#d.rules);
    if ('reason' in checked) throw new RegistrationError('not-acceptable', checked.reason);
    return checked.user;
  }

  /** An invitation a stream presented with XEP-0445 <preauth/>, checked then. */
  async register(req: RegistrationRequest, preauthorized?: PreauthorizedInvite): Promise<void> {
    const { mode, limits } = this.#d;
    const accounts = this.#d.accounts();
    if (!this.open) throw new RegistrationError('service-unavailable', 'This server does not take registrations');
    // XEP-0077 §3.1 / §8: too many registrations from one place are refused for a while.
    const limited = limits.check(req.peerAddress);
    if (limited) {
      throw new RegistrationError('resource-constraint', limited === 'address'
        ? 'Too many accounts were registered from your address; try again later'
        : 'Too many accounts were registered from your network; try again later');
    }
    const user = this.username(req.user);
    const weak = this.checkPassword(req.password, user);
    if (weak) throw new RegistrationError('not-acceptable', weak);
    let invite: string | undefined;
    if (mode === 'captcha') {
      if (!req.captcha || req.captcha.answer.trim() === '') throw new RegistrationError('not-acceptable', 'Type the characters shown in the image');
      // XEP-0158 §3.3: a challenge not sent, answered already or too late is <service-unavailable/>,
      // a wrong answer <not-acceptable/> of type cancel.
      const verdict = this.#d.captchas.solve(req.captcha.id, req.captcha.answer);
      if (verdict === 'unknown') throw new RegistrationError('service-unavailable', 'That image has expired or was answered already; ask for a new one', 'cancel');
      if (verdict === 'wrong') throw new RegistrationError('not-acceptable', 'The characters typed do not match the image; try a new one', 'cancel');
    } else if (mode === 'invite') {
      invite = preauthorized?.token ?? req.invite;
      // XEP-0445 §4: a token is checked for expiry at <preauth/> only, not again on that stream.
      const found = preauthorized ?? (invite ? await this.#d.invites()?.check(invite) : undefined);
      if (!found) throw new RegistrationError('not-allowed', 'Registration here needs a valid invitation; this one is unknown, expired or used up');
      if (found.username !== undefined && found.username !== user) throw new RegistrationError('not-allowed', `This invitation is for the username ${found.username}`);
    }
    if (await accounts.exists(user)) throw new RegistrationError('conflict', 'That username is taken');
    try {
      await accounts.create(user, req.password);
    } catch (err) {
      if (!(err instanceof AccountError)) throw err;
      if (await accounts.exists(user)) throw new RegistrationError('conflict', 'That username is taken');
      throw new RegistrationError('not-acceptable', 'That password cannot be used');
    }
    limits.count(req.peerAddress);
    if (invite) {
      try {
        await this.#d.invites()?.redeem(invite, user);
      } catch (err) {
        this.#d.log.warn({ err }, 'the invitation used for a new account could not be marked as used');
      }
    }
    this.#d.log.info({ mode }, 'account registered');
  }
}
