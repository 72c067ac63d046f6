// XEP-0441 Message Archive Management Preferences (v0.2.0): <prefs xmlns='urn:xmpp:mam:2'/> with a
// default ('always', 'never', 'roster') and <always/>/<never/> lists of JIDs, read and written by the
// account itself, and the archiving decision they make for one contact.
import { el, type Element } from '../../core/xml/element.ts';
import { tryParseJid, type Jid } from '../../core/jid.ts';
import { StanzaError } from '../../core/errors.ts';

export const NS_MAM = 'urn:xmpp:mam:2';

export type DefaultPref = 'always' | 'never' | 'roster';
export const DEFAULT_PREFS: readonly DefaultPref[] = ['always', 'never', 'roster'];

/** As stored (a type, so it fits the JSON store). */
export type MamPrefs = { default: DefaultPref; always: string[]; never: string[] };

export function prefsElement(p: MamPrefs): Element {
  const list = (name: string, jids: readonly string[]): Element => el(name, {}, ...jids.map((j) => el('jid', {}, j)));
  return el('prefs', { xmlns: NS_MAM, default: p.default }, list('always', p.always), list('never', p.never));
}

function jidList(prefs: Element, name: 'always' | 'never'): string[] {
  const out = new Set<string>();
  for (const container of prefs.getChildren(name)) {
    for (const j of container.getChildren('jid')) {
      const jid = tryParseJid(j.text().trim());
      if (!jid) throw new StanzaError('jid-malformed', `Not a valid JID in <${name}/>`);
      out.add(jid.toString());
    }
  }
  return [...out];
}

/** A <prefs/> set by the client; throws bad-request / jid-malformed / not-acceptable. */
export function parsePrefs(prefs: Element, maxJids: number): MamPrefs {
  const def = prefs.attrs['default'];
  if (def === undefined || !(DEFAULT_PREFS as readonly string[]).includes(def)) {
    throw new StanzaError('bad-request', "The 'default' attribute must be always, never or roster");
  }
  const always = jidList(prefs, 'always');
  const never = jidList(prefs, 'never');
  if (always.length + never.length > maxJids) throw new StanzaError('not-acceptable', `At most ${maxJids} addresses in <always/> and <never/> together`);
  return { default: def as DefaultPref, always, never };
}

/** An entry matches a bare JID entry by its bare JID, a full JID entry only exactly. */
function listed(list: readonly string[], contact: Jid): boolean {
  return list.includes(contact.bareString) || (contact.resource !== '' && list.includes(contact.toString()));
}

/**
 * Whether a message with `contact` is archived. <never/> wins over <always/> (the choice that keeps
 * less); 'roster' archives contacts in the user's roster.
 */
export async function prefsAllow(p: MamPrefs, contact: Jid, inRoster: () => Promise<boolean>): Promise<boolean> {
  if (listed(p.never, contact)) return false;
  if (listed(p.always, contact)) return true;
  if (p.default === 'always') return true;
  if (p.default === 'never') return false;
  return inRoster();
}
