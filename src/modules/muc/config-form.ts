// XEP-0045 §10.2 room configuration form (FORM_TYPE muc#roomconfig, fields per §15.5.3). There is
// no muc#roomconfig_enablelogging field: this server never logs room messages; a form asking
// for logging is refused.
import { StanzaError } from '../../core/errors.ts';
import { buildForm, FormError, type FormValues } from '../../lib/data-form.ts';
import type { Element } from '../../core/xml/element.ts';
import { NS_MUC_ROOMCONFIG } from './namespaces.ts';
import { ROLES, type AllowPm, type Role, type RoomConfig } from './room.ts';

const ROLE_OPTIONS = (['moderator', 'participant', 'visitor'] as const).map((r) => ({ label: r, value: r }));
const bool = (b: boolean): string[] => [b ? '1' : '0'];

export function configForm(c: RoomConfig, maxOccupants: number, maxHistory: number): Element {
  return buildForm({
    type: 'form',
    formType: NS_MUC_ROOMCONFIG,
    title: 'Room configuration',
    instructions: ['Messages are kept in memory only (at most the history length), never stored on disk, and are lost when the server restarts.'],
    fields: [
      { var: 'muc#roomconfig_roomname', type: 'text-single', label: 'Room name', values: [c.name] },
      { var: 'muc#roomconfig_roomdesc', type: 'text-single', label: 'Description', values: [c.description] },
      { var: 'muc#roomconfig_persistentroom', type: 'boolean', label: 'Keep the room when the last occupant leaves', values: bool(c.persistent) },
      { var: 'muc#roomconfig_publicroom', type: 'boolean', label: 'List the room publicly', values: bool(c.public) },
      { var: 'muc#roomconfig_membersonly', type: 'boolean', label: 'Members only', values: bool(c.membersOnly) },
      { var: 'muc#roomconfig_moderatedroom', type: 'boolean', label: 'Moderated (only occupants with voice may speak)', values: bool(c.moderated) },
      { var: 'muc#roomconfig_passwordprotectedroom', type: 'boolean', label: 'Password required to enter', values: bool(c.passwordProtected) },
      { var: 'muc#roomconfig_roomsecret', type: 'text-private', label: 'Password', values: [c.password] },
      {
        var: 'muc#roomconfig_whois', type: 'list-single', label: 'Who may discover real JIDs', values: [c.whois],
        options: [{ label: 'Moderators only', value: 'moderators' }, { label: 'Anyone', value: 'anyone' }],
      },
      {
        var: 'muc#roomconfig_maxusers', type: 'list-single', label: 'Maximum number of occupants', values: [String(c.maxUsers)],
        options: [...new Set([10, 20, 30, 50, 100, 200, 500, 1000, maxOccupants].filter((n) => n <= maxOccupants))].map((n) => ({ value: String(n) })),
      },
      { var: 'muc#roomconfig_changesubject', type: 'boolean', label: 'Occupants may change the subject', values: bool(c.changeSubject) },
      { var: 'muc#roomconfig_allowinvites', type: 'boolean', label: 'Occupants may invite others', values: bool(c.allowInvites) },
      {
        var: 'muc#roomconfig_allowpm', type: 'list-single', label: 'Who may send private messages', values: [c.allowPm],
        options: ['anyone', 'participants', 'moderators', 'none'].map((v) => ({ value: v })),
      },
      { var: 'muc#roomconfig_getmemberlist', type: 'list-multi', label: 'Roles that may retrieve the member list', values: c.getMemberList, options: ROLE_OPTIONS },
      { var: 'muc#roomconfig_presencebroadcast', type: 'list-multi', label: 'Roles whose presence is broadcast', values: c.presenceBroadcast, options: ROLE_OPTIONS },
      { var: 'muc#maxhistoryfetch', type: 'text-single', label: `Messages of history kept in memory for newcomers (at most ${maxHistory})`, values: [String(c.historyLength)] },
    ],
  });
}

function roles(list: readonly string[], field: string): Role[] {
  for (const r of list) if (!ROLES.includes(r as Role) || r === 'none') throw new FormError(`${field}: unknown role ${r}`);
  return [...new Set(list)] as Role[];
}

function count(v: string | undefined, field: string, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (v === 'none') return max;
  if (!/^\d{1,9}$/.test(v)) throw new FormError(`${field} must be a number`);
  return Math.min(Number(v), max);
}

/** The configuration a submitted form asks for (fields left out keep their value). */
export function applyConfigForm(current: RoomConfig, form: FormValues, maxOccupants: number, maxHistory: number): RoomConfig {
  if (form.formType !== undefined && form.formType !== NS_MUC_ROOMCONFIG) throw new StanzaError('bad-request', 'The form is not a muc#roomconfig form');
  if (form.boolean('muc#roomconfig_enablelogging') === true) {
    throw new StanzaError('not-acceptable', 'This service does not log room conversations');
  }
  const c = { ...current };
  const b = (field: string, old: boolean): boolean => form.boolean(field) ?? old;
  c.name = form.has('muc#roomconfig_roomname') ? (form.text('muc#roomconfig_roomname') ?? '') : c.name;
  c.description = form.has('muc#roomconfig_roomdesc') ? (form.text('muc#roomconfig_roomdesc') ?? '') : c.description;
  c.persistent = b('muc#roomconfig_persistentroom', c.persistent);
  c.public = b('muc#roomconfig_publicroom', c.public);
  c.membersOnly = b('muc#roomconfig_membersonly', c.membersOnly);
  c.moderated = b('muc#roomconfig_moderatedroom', c.moderated);
  c.passwordProtected = b('muc#roomconfig_passwordprotectedroom', c.passwordProtected);
  if (form.has('muc#roomconfig_roomsecret')) c.password = form.text('muc#roomconfig_roomsecret') ?? '';
  if (c.passwordProtected && c.password === '') throw new StanzaError('not-acceptable', 'A password-protected room needs a password');
  const whois = form.text('muc#roomconfig_whois');
  if (whois !== undefined) {
    if (whois !== 'moderators' && whois !== 'anyone') throw new FormError('muc#roomconfig_whois must be moderators or anyone');
    c.whois = whois;
  }
  c.maxUsers = count(form.text('muc#roomconfig_maxusers'), 'muc#roomconfig_maxusers', maxOccupants, c.maxUsers);
  if (c.maxUsers < 1) throw new FormError('muc#roomconfig_maxusers must be at least 1');
  c.changeSubject = b('muc#roomconfig_changesubject', c.changeSubject);
  c.allowInvites = b('muc#roomconfig_allowinvites', c.allowInvites);
  const pm = form.text('muc#roomconfig_allowpm');
  if (pm !== undefined) {
    if (!['anyone', 'participants', 'moderators', 'none'].includes(pm)) throw new FormError('muc#roomconfig_allowpm: unknown value');
    c.allowPm = pm as AllowPm;
  }
  if (form.has('muc#roomconfig_getmemberlist')) c.getMemberList = roles(form.list('muc#roomconfig_getmemberlist'), 'muc#roomconfig_getmemberlist');
  if (form.has('muc#roomconfig_presencebroadcast')) c.presenceBroadcast = roles(form.list('muc#roomconfig_presencebroadcast'), 'muc#roomconfig_presencebroadcast');
  c.historyLength = count(form.text('muc#maxhistoryfetch') ?? form.text('muc#roomconfig_historylength'), 'muc#maxhistoryfetch', maxHistory, c.historyLength);
  return c;
}
