// The invites a host keeps (provided by the `invites` module, consumed by registration): declared
// here so neither module imports the other.

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
