// The invites a registration may redeem (XEP-0401), offered by the invites module to the register module and the web pages.
export interface InviteService {
  /** An invite that may create an account on this host; undefined if unknown, expired or used up. */
  check(token: string): Promise<{ inviter?: string; username?: string } | undefined>;
  /** Marks it used by new account `user` (and, for a user's invite, subscribes inviter and user to each other, XEP-0379). */
  redeem(token: string, user: string): Promise<void>;
}
declare module './shared.ts' {
  interface SharedMap {
    invites: InviteService;
  }
}
