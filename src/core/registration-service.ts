// Self-service registration (XEP-0077 rules, captcha, invites, rate limits), offered by the register module to the web pages.
export type RegistrationMode = 'closed' | 'invite' | 'captcha' | 'open';

export class RegistrationError extends Error {
  readonly condition: string;
  constructor(condition: string, text: string) {
    super(text);
    this.condition = condition;
  }
}

export interface RegistrationService {
  readonly mode: RegistrationMode;
  /** Checks the rules, rate limits, invite or captcha, then creates the account. Throws RegistrationError (message readable by a user). */
  register(req: { user: string; password: string; peerAddress: string | undefined; invite?: string; captcha?: { id: string; answer: string } }): Promise<void>;
  newCaptcha(): { id: string; png: Buffer };
  /** undefined when acceptable, else a readable reason. */
  checkPassword(password: string): string | undefined;
}

declare module './shared.ts' {
  interface SharedMap {
    registration: RegistrationService;
  }
}
