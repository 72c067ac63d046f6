// One room's state: configuration, affiliations (persistent rooms store these two), occupants,
// subject and history (memory only). Pure state and the XEP-0045 rules that derive from it.
import type { Element } from '../../core/xml/element.ts';
import { RoomHistory } from './history.ts';
import type { TokenBucket } from './rate-limit.ts';

export type Affiliation = 'owner' | 'admin' | 'member' | 'none' | 'outcast';
export type Role = 'moderator' | 'participant' | 'visitor' | 'none';
export type AllowPm = 'anyone' | 'participants' | 'moderators' | 'none';

export const AFFILIATIONS: readonly Affiliation[] = ['owner', 'admin', 'member', 'none', 'outcast'];
export const ROLES: readonly Role[] = ['moderator', 'participant', 'visitor', 'none'];
const AFFILIATION_RANK: Record<Affiliation, number> = { outcast: 0, none: 1, member: 2, admin: 3, owner: 4 };
const ROLE_RANK: Record<Role, number> = { none: 0, visitor: 1, participant: 2, moderator: 3 };

export const affiliationRank = (a: Affiliation): number => AFFILIATION_RANK[a];
export const roleRank = (r: Role): number => ROLE_RANK[r];

export interface RoomConfig {
  name: string;
  description: string;
  persistent: boolean;
  public: boolean;
  membersOnly: boolean;
  moderated: boolean;
  passwordProtected: boolean;
  password: string;
  whois: 'moderators' | 'anyone';
  maxUsers: number;
  changeSubject: boolean;
  allowInvites: boolean;
  allowPm: AllowPm;
  getMemberList: Role[];
  presenceBroadcast: Role[];
  historyLength: number;
}

export function defaultConfig(maxUsers: number, historyLength: number): RoomConfig {
  return {
    name: '', description: '', persistent: false, public: true, membersOnly: false, moderated: false,
    passwordProtected: false, password: '', whois: 'moderators', maxUsers, changeSubject: false,
    allowInvites: false, allowPm: 'anyone', getMemberList: ['moderator', 'participant', 'visitor'],
    presenceBroadcast: ['moderator', 'participant', 'visitor'], historyLength,
  };
}

export interface AffiliationEntry {
  affiliation: Affiliation;
  /** A nickname registered in the room (§7.10), locked for everyone else. */
  nick?: string;
  reason?: string;
}

export interface Occupant {
  nick: string;
  /** Real bare JID. */
  bareJid: string;
  /** The user's sessions in the room (full JIDs) and each one's last presence. */
  sessions: Map<string, Element>;
  role: Role;
  occupantId: string;
  bucket: TokenBucket;
}

export class Room {
  readonly local: string;
  readonly jid: string;
  config: RoomConfig;
  readonly affiliations = new Map<string, AffiliationEntry>();
  readonly occupants = new Map<string, Occupant>();
  /** Full JID -> nick. */
  readonly byJid = new Map<string, string>();
  subject: { text: string; from: string } | undefined;
  /** §10.1: a new room is locked until its owner configures it. */
  locked = false;
  readonly history: RoomHistory;
  /** Pending voice requests' nicknames, so a moderator's approval names a real request. */
  destroyed = false;

  constructor(local: string, service: string, config: RoomConfig, historyMaxAgeMs: number) {
    this.local = local;
    this.jid = `${local}@${service}`;
    this.config = config;
    this.history = new RoomHistory(historyMaxAgeMs);
  }

  /** The user's own affiliation, else its server's (e.g. a whole domain banned). */
  affiliationOf(bareJid: string): Affiliation {
    const own = this.affiliations.get(bareJid)?.affiliation;
    if (own !== undefined && own !== 'none') return own;
    const at = bareJid.indexOf('@');
    return (at >= 0 ? this.affiliations.get(bareJid.slice(at + 1))?.affiliation : undefined) ?? own ?? 'none';
  }

  setAffiliation(bareJid: string, affiliation: Affiliation, reason?: string): void {
    const nick = this.affiliations.get(bareJid)?.nick;
    if (affiliation === 'none' && nick === undefined) this.affiliations.delete(bareJid);
    else this.affiliations.set(bareJid, { affiliation, ...(nick !== undefined ? { nick } : {}), ...(reason ? { reason } : {}) });
  }

  owners(): string[] {
    return [...this.affiliations].filter(([, e]) => e.affiliation === 'owner').map(([j]) => j);
  }

  /** §5.1.2: the role an occupant gets on entering. */
  defaultRole(affiliation: Affiliation): Role {
    if (affiliation === 'owner' || affiliation === 'admin') return 'moderator';
    if (affiliation === 'member') return 'participant';
    return this.config.moderated ? 'visitor' : 'participant';
  }

  occupantOf(fullJid: string): Occupant | undefined {
    const nick = this.byJid.get(fullJid);
    return nick === undefined ? undefined : this.occupants.get(nick);
  }

  /** The bare JID that registered this nickname, if any. */
  nickOwner(nick: string): string | undefined {
    for (const [jid, e] of this.affiliations) if (e.nick === nick) return jid;
    return undefined;
  }

  registeredNick(bareJid: string): string | undefined {
    return this.affiliations.get(bareJid)?.nick;
  }

  get nonAnonymous(): boolean {
    return this.config.whois === 'anyone';
  }

  /** Whether `viewer` sees real JIDs (§5.2.1 semi-anonymous: moderators only). */
  showsJidTo(viewer: Occupant): boolean {
    return this.nonAnonymous || viewer.role === 'moderator';
  }

  /** Every full JID in the room. */
  *sessions(): Iterable<[string, Occupant]> {
    for (const o of this.occupants.values()) for (const full of o.sessions.keys()) yield [full, o];
  }
}
