// What the roster module offers other modules (ctx.shared.get('roster')), e.g. invites (XEP-0379).
export interface RosterService {
  /**
   * Sends a subscription stanza as the user's own client would (RFC 6121 §3): the roster is
   * updated and pushed, the stanza routed. 'subscribed' before any request is a pre-approval (§3.4).
   */
  subscription(user: string, contact: string, type: 'subscribe' | 'subscribed'): Promise<void>;
  /** The subscription state of `contact` (a bare JID) in the user's roster (RFC 6121 Appendix A); 'none' when absent. */
  subscriptionOf(user: string, contact: string): Promise<'none' | 'to' | 'from' | 'both'>;
  /** Whether the bare JID is in the user's roster as the client sees it (e.g. XEP-0441 'roster' archiving). */
  inRoster(user: string, contact: string): Promise<boolean>;
}

declare module '../../core/shared.ts' {
  interface SharedMap {
    roster: RosterService;
  }
}
