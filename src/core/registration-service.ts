// Account registration as the `register` module offers it to other modules (e.g. the web pages):
// the same rules, rate limits, invites and CAPTCHAs as XEP-0077 in-band registration.
import type { StanzaErrorCondition, StanzaErrorType } from './errors.ts';

export type RegistrationMode = 'closed' | 'invite' | 'captcha' | 'open';

export interface RegistrationRequest {
  user: string;
  password: string;
  /** For the rate limits only: never logged or stored. */
  peerAddress: string | undefined;
  invite?: string;
  captcha?: { id: string; answer: string };
}

export interface RegistrationService {
  readonly mode: RegistrationMode;
  /** Checks the rules, rate limits, invite or captcha, then creates the account. Throws RegistrationError { condition, text } (text readable by a user). */
  register(req: RegistrationRequest): Promise<void>;
  newCaptcha(): { id: string; png: Buffer };
  /** undefined when acceptable, else a readable reason. */
  checkPassword(password: string): string | undefined;
  /** undefined when the name may be registered as far as the rules go (it may still be taken), else a readable reason. */
  checkUsername(user: string): string | undefined;
  /** The password rules in one sentence, for a form's hint. */
  readonly passwordRules: string;
}

/** Why a registration was refused: the XMPP condition (XEP-0077) and a sentence for the user. */
export class RegistrationError extends Error {
  readonly condition: StanzaErrorCondition;
  readonly text: string;
  /** The stanza error type when it is not the condition's usual one. */
  readonly type: StanzaErrorType | undefined;

  constructor(condition: StanzaErrorCondition, text: string, type?: StanzaErrorType) {
    super(text);
    this.condition = condition;
    this.text = text;
    this.type = type;
  }
}

declare module './shared.ts' {
  interface SharedMap {
    registration: RegistrationService;
  }
}
