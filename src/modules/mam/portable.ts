// XEP-0227 (v1.1) message archive: <archive xmlns='urn:xmpp:pie:0#mam'/> holding the
// XEP-0441 <prefs/> and each archived message as a XEP-0313 <result/> (forwarded, with its delay
// stamp), oldest first. On import the stamp becomes the stored time again, so max_age counts from
// the original message; what is already past max_age, or over max_messages, is not imported.
import { el, type Element } from '../../core/xml/element.ts';
import { elementToJson } from '../../core/xml/xml-json.ts';
import { tryParseJid } from '../../core/jid.ts';
import { StanzaError } from '../../core/errors.ts';
import type { ArchivedMessage, UserArchives } from './archive-store.ts';
import { NS_MAM, parsePrefs, prefsElement, type MamPrefs } from './prefs.ts';
import { resultMessage } from './results.ts';
import { newArchiveId } from './stanza-id.ts';

export const NS_PIE_MAM = 'urn:xmpp:pie:0#mam';
const NS_FORWARD = 'urn:xmpp:forward:0';
const NS_DELAY = 'urn:xmpp:delay';
const NS_CLIENT = 'jabber:client';

export async function exportArchive(archives: UserArchives, prefs: MamPrefs | undefined, user: string, add: (e: Element) => void): Promise<void> {
  const items = await archives.items(user);
  if (items.length === 0 && !prefs) return;
  // The same <result/> a query sends, without the message around it.
  const results = items.map((item) => resultMessage('', '', undefined, item).getChild('result', NS_MAM) as Element);
  add(el('archive', { xmlns: NS_PIE_MAM }, prefs ? prefsElement(prefs) : null, ...results));
}

export interface ArchiveImportLimits {
  maxAge: number;
  maxPrefJids: number;
}

/** The archive and preferences in the user's XEP-0227 elements, if any; throws on a malformed part. */
export function readArchive(elements: readonly Element[], host: string, user: string, limits: ArchiveImportLimits): { entries: { value: ArchivedMessage; when: Date }[]; prefs?: MamPrefs } | undefined {
  const container = elements.find((e) => e.name === 'archive' && e.attrs['xmlns'] === NS_PIE_MAM);
  if (!container) return undefined;
  const self = `${user}@${host}`;
  let prefs: MamPrefs | undefined;
  const p = container.getChild('prefs', NS_MAM);
  if (p) {
    try {
      prefs = parsePrefs(p, limits.maxPrefJids);
    } catch (e) {
      throw new Error(`message archive preferences: ${e instanceof StanzaError ? e.text ?? e.condition : String(e)}`, { cause: e });
    }
  }
  const cutoff = Date.now() - limits.maxAge;
  const seen = new Set<string>();
  const entries: { value: ArchivedMessage; when: Date }[] = [];
  for (const result of container.getChildren('result', NS_MAM)) {
    const forwarded = result.getChild('forwarded', NS_FORWARD);
    const message = forwarded?.getChildren('message').find((m) => m.attrs['xmlns'] === NS_CLIENT || m.attrs['xmlns'] === undefined);
    if (!forwarded || !message) continue;
    const stamp = Date.parse(forwarded.getChild('delay', NS_DELAY)?.attrs['stamp'] ?? '');
    const when = Number.isFinite(stamp) ? new Date(stamp) : new Date();
    if (when.getTime() < cutoff) continue;
    const from = tryParseJid(message.attrs['from']);
    const to = tryParseJid(message.attrs['to']);
    const out = from?.bareString === self;
    const other = out ? to : from;
    if (!other) continue;
    let uid = result.attrs['id'];
    if (!uid || seen.has(uid)) uid = newArchiveId();
    seen.add(uid);
    const copy = message.clone();
    const { xmlns: _ns, ...attrs } = copy.attrs;
    copy.attrs = attrs;
    entries.push({ value: { uid, dir: out ? 'out' : 'in', with: other.toString(), message: elementToJson(copy) }, when });
  }
  entries.sort((a, b) => a.when.getTime() - b.when.getTime());
  return prefs ? { entries, prefs } : { entries };
}
