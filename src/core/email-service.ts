// An account's e-mail address, kept only to reset a forgotten password: offered by the email
// module to the web pages (src/modules/web-account/).

export interface EmailService {
  /** The address on file for the account, or undefined. */
  get(user: string): Promise<string | undefined>;
  /** Sets or replaces the address; returns a readable reason when it is not a usable address. */
  set(user: string, address: string): Promise<string | undefined>;
  remove(user: string): Promise<void>;
  /**
   * Mails a single-use reset link to the address on file of the account `who` names (its user
   * name, its XMPP address on this host, or its e-mail address). Answers nothing, so the caller
   * can't learn whether an account or an address exists; `link` turns a token into the URL.
   */
  requestReset(who: string, peerAddress: string | undefined, link: (token: string) => string): void;
  /** The account a reset token is for while it is valid (it stays valid). */
  peekReset(token: string): string | undefined;
  /** Uses up a reset token: the account it was for, or undefined when unknown, used or expired. */
  redeemReset(token: string): string | undefined;
  /** How long a reset link is valid, in milliseconds. */
  readonly resetLifetimeMs: number;
}

declare module './shared.ts' {
  interface SharedMap {
    email: EmailService;
  }
}
