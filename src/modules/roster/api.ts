// What the roster module offers other modules (ctx.shared.get('roster')), e.g. invites (XEP-0379).
export interface RosterService {
  /**
   * Sends a subscription stanza as the user's own client would (RFC 6121 §3): the roster is
   * updated and pushed, the stanza routed. 'subscribed' before any request is a pre-approval (§3.4).
   */
  subscription(user: string, contact: string, type: 'subscribe' | 'subscribed'): Promise<void>;
  /** Whether the bare JID is in the user's roster as the client sees it (e.g. XEP-0441 'roster' archiving). */
  inRoster(user: string, contact: string): Promise<boolean>;
  /** How `contact` (a bare JID) stands in the user's roster: 'none' and no groups when absent. */
  relation(user: string, contact: string): Promise<{ subscription: 'none' | 'to' | 'from' | 'both'; groups: readonly string[] }>;
  /** relation() for every contact of the user at once (one roster read), by bare JID. */
  relations(user: string): Promise<Map<string, { subscription: 'none' | 'to' | 'from' | 'both'; groups: readonly string[] }>>;
  /** Bare JIDs that receive the user's presence (subscription 'from' or 'both'). */
  presenceSubscribers(user: string): Promise<string[]>;
  /** Bare JIDs whose presence the user receives (subscription 'to' or 'both'). */
  presenceSubscriptions(user: string): Promise<string[]>;
}

declare module '../../core/shared.ts' {
  interface SharedMap {
    roster: RosterService;
  }
}

declare module '../../core/hooks.ts' {
  interface HookMap {
    /**
     * A contact now receives the user's presence (its subscription became 'from' or 'both', RFC
     * 6121 §3.1.5), after the user's current presence went to it (e.g. PEP sends it last items).
     */
    'roster/presence-approved': { host: string; user: string; contact: string };
  }
}
