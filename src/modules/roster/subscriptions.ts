// RFC 6121 Appendix A: the presence subscription state machine, as pure functions.
// The server applies these tables to the roster item of the account whose roster changes; the
// module (subscription-flow.ts) does the storage, routing and pushes around them.

export type Subscription = 'none' | 'to' | 'from' | 'both';
export type SubscriptionType = 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed';

export const SUBSCRIPTION_TYPES: readonly SubscriptionType[] = ['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed'];

export function isSubscriptionType(t: string | undefined): t is SubscriptionType {
  return t !== undefined && (SUBSCRIPTION_TYPES as readonly string[]).includes(t);
}

/** A subscription state of one roster item (Appendix A.1). */
export interface SubState {
  subscription: Subscription;
  /** The account asked for the contact's presence and awaits an answer ("Pending Out", ask='subscribe'). */
  pendingOut: boolean;
  /** The contact asked for the account's presence and awaits an answer ("Pending In"). */
  pendingIn: boolean;
}

/** The nine defined states, named as in Appendix A.1. */
export type StateName =
  | 'None'
  | 'None + Pending Out'
  | 'None + Pending In'
  | 'None + Pending Out+In'
  | 'To'
  | 'To + Pending In'
  | 'From'
  | 'From + Pending Out'
  | 'Both';

export const STATE_NAMES: readonly StateName[] = [
  'None', 'None + Pending Out', 'None + Pending In', 'None + Pending Out+In',
  'To', 'To + Pending In', 'From', 'From + Pending Out', 'Both',
];

const NAMED: Record<StateName, SubState> = {
  None: { subscription: 'none', pendingOut: false, pendingIn: false },
  'None + Pending Out': { subscription: 'none', pendingOut: true, pendingIn: false },
  'None + Pending In': { subscription: 'none', pendingOut: false, pendingIn: true },
  'None + Pending Out+In': { subscription: 'none', pendingOut: true, pendingIn: true },
  To: { subscription: 'to', pendingOut: false, pendingIn: false },
  'To + Pending In': { subscription: 'to', pendingOut: false, pendingIn: true },
  From: { subscription: 'from', pendingOut: false, pendingIn: false },
  'From + Pending Out': { subscription: 'from', pendingOut: true, pendingIn: false },
  Both: { subscription: 'both', pendingOut: false, pendingIn: false },
};

export function stateOf(name: StateName): SubState {
  return { ...NAMED[name] };
}

/**
 * The Appendix A name of a state. Combinations the RFC doesn't define (a pending request in a
 * direction that is already subscribed) are read as if the redundant pending flag were absent.
 */
export function nameOf(s: SubState): StateName {
  const out = s.pendingOut && (s.subscription === 'none' || s.subscription === 'from');
  const inn = s.pendingIn && (s.subscription === 'none' || s.subscription === 'to');
  switch (s.subscription) {
    case 'none':
      return out && inn ? 'None + Pending Out+In' : out ? 'None + Pending Out' : inn ? 'None + Pending In' : 'None';
    case 'to':
      return inn ? 'To + Pending In' : 'To';
    case 'from':
      return out ? 'From + Pending Out' : 'From';
    case 'both':
      return 'Both';
  }
}

type Row = readonly [act: boolean, next: StateName | null];
type Table = Record<StateName, Row>;

// A.2: a stanza the account's own client sends. `act` = the server routes it to the contact.
// null = no state change.
const OUTBOUND: Record<SubscriptionType, Table> = {
  // A.2.1: always routed, so a contact's server that lost state can resync (it answers 'subscribed').
  subscribe: {
    None: [true, 'None + Pending Out'],
    'None + Pending Out': [true, null],
    'None + Pending In': [true, 'None + Pending Out+In'],
    'None + Pending Out+In': [true, null],
    To: [true, null],
    'To + Pending In': [true, null],
    From: [true, 'From + Pending Out'],
    'From + Pending Out': [true, null],
    Both: [true, null],
  },
  // A.2.2
  unsubscribe: {
    None: [true, null],
    'None + Pending Out': [true, 'None'],
    'None + Pending In': [true, null],
    'None + Pending Out+In': [true, 'None + Pending In'],
    To: [true, 'None'],
    'To + Pending In': [true, 'None + Pending In'],
    From: [true, null],
    'From + Pending Out': [true, 'From'],
    Both: [true, 'From'],
  },
  // A.2.3: without a pending request, 'subscribed' is a pre-approval (§3.4), never routed.
  subscribed: {
    None: [false, null],
    'None + Pending Out': [false, null],
    'None + Pending In': [true, 'From'],
    'None + Pending Out+In': [true, 'From + Pending Out'],
    To: [false, null],
    'To + Pending In': [true, 'Both'],
    From: [false, null],
    'From + Pending Out': [false, null],
    Both: [false, null],
  },
  // A.2.4
  unsubscribed: {
    None: [false, null],
    'None + Pending Out': [false, null],
    'None + Pending In': [true, 'None'],
    'None + Pending Out+In': [true, 'None + Pending Out'],
    To: [false, null],
    'To + Pending In': [true, 'To'],
    From: [true, 'None'],
    'From + Pending Out': [true, 'None + Pending Out'],
    Both: [true, 'To'],
  },
};

// A.3: a stanza arriving for the account from the contact. `act` = deliver to the account's client.
const INBOUND: Record<SubscriptionType, Table> = {
  // A.3.1: a repeated request is not delivered again; an existing subscription is auto-confirmed.
  subscribe: {
    None: [true, 'None + Pending In'],
    'None + Pending Out': [true, 'None + Pending Out+In'],
    'None + Pending In': [false, null],
    'None + Pending Out+In': [false, null],
    To: [true, 'To + Pending In'],
    'To + Pending In': [false, null],
    From: [false, null],
    'From + Pending Out': [false, null],
    Both: [false, null],
  },
  // A.3.2
  unsubscribe: {
    None: [false, null],
    'None + Pending Out': [false, null],
    'None + Pending In': [true, 'None'],
    'None + Pending Out+In': [true, 'None + Pending Out'],
    To: [false, null],
    'To + Pending In': [true, 'To'],
    From: [true, 'None'],
    'From + Pending Out': [true, 'None + Pending Out'],
    Both: [true, 'To'],
  },
  // A.3.3: an approval nobody asked for is dropped (it must not create a subscription).
  subscribed: {
    None: [false, null],
    'None + Pending Out': [true, 'To'],
    'None + Pending In': [false, null],
    'None + Pending Out+In': [true, 'To + Pending In'],
    To: [false, null],
    'To + Pending In': [false, null],
    From: [false, null],
    'From + Pending Out': [true, 'Both'],
    Both: [false, null],
  },
  // A.3.4
  unsubscribed: {
    None: [false, null],
    'None + Pending Out': [true, 'None'],
    'None + Pending In': [false, null],
    'None + Pending Out+In': [true, 'None + Pending In'],
    To: [true, 'None'],
    'To + Pending In': [true, 'None + Pending In'],
    From: [false, null],
    'From + Pending Out': [true, 'From'],
    Both: [true, 'From'],
  },
};

export interface OutboundResult {
  next: SubState;
  changed: boolean;
  /** Route the stanza to the contact. */
  route: boolean;
  /** §3.4: 'subscribed' with no pending request records a pre-approval instead. */
  preApprove: boolean;
}

/** Appendix A.2: the account's client sent `type` to the contact. */
export function outbound(state: SubState, type: SubscriptionType): OutboundResult {
  const name = nameOf(state);
  const [route, nextName] = OUTBOUND[type][name];
  const preApprove = type === 'subscribed' && (name === 'None' || name === 'None + Pending Out' || name === 'To');
  return { next: nextName ? stateOf(nextName) : stateOf(name), changed: nextName !== null, route, preApprove };
}

export interface InboundResult {
  next: SubState;
  changed: boolean;
  /** Deliver the stanza to the account's available resources (or keep a request for later). */
  deliver: boolean;
  /** The server answers 'subscribed' on the account's behalf (A.3.1 note, or a pre-approval). */
  autoReply: boolean;
  /** A pre-approval was used up by this request. */
  usedApproval: boolean;
}

/** Appendix A.3: the contact sent `type` to the account; `approved` = the account pre-approved (§3.4). */
export function inbound(state: SubState, type: SubscriptionType, approved = false): InboundResult {
  const name = nameOf(state);
  if (type === 'subscribe') {
    if (name === 'From' || name === 'From + Pending Out' || name === 'Both') {
      return { next: stateOf(name), changed: false, deliver: false, autoReply: true, usedApproval: false };
    }
    // §3.4: a pre-approved request is approved at once and never shown to the account's client.
    if (approved && (name === 'None' || name === 'None + Pending Out' || name === 'To')) {
      const next: StateName = name === 'None' ? 'From' : name === 'To' ? 'Both' : 'From + Pending Out';
      return { next: stateOf(next), changed: true, deliver: false, autoReply: true, usedApproval: true };
    }
  }
  const [deliver, nextName] = INBOUND[type][name];
  return { next: nextName ? stateOf(nextName) : stateOf(name), changed: nextName !== null, deliver, autoReply: false, usedApproval: false };
}

/** The account receives the contact's presence (§4.3.2 probes are answered only then). */
export function hasTo(s: Subscription): boolean {
  return s === 'to' || s === 'both';
}

/** The contact receives the account's presence broadcasts (§4.4.2). */
export function hasFrom(s: Subscription): boolean {
  return s === 'from' || s === 'both';
}
