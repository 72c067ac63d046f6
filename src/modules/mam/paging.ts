// XEP-0313 §4.1 filters and §4.3 paging (XEP-0059 RSM) over one account's archive: which entries
// a query selects, which page of them it gets, and whether that page completes the result set.
import { StanzaError } from '../../core/errors.ts';
import { tryParseJid } from '../../core/jid.ts';
import type { ArchiveItem } from './archive-store.ts';
import type { MamQuery } from './query.ts';

export interface Page {
  items: ArchiveItem[];
  /** How many entries the query selects in all (RSM <count/>). */
  count: number;
  /** §4.3.2: the page was not cut short by the page size, in the direction of paging. */
  complete: boolean;
}

/** §4.1.1: a bare 'with' matches any resource of that JID, a full one only that resource. */
function withMatches(item: ArchiveItem, q: MamQuery): boolean {
  if (!q.with) return true;
  if (!q.with.isBare) return item.with === q.with.toString();
  const other = tryParseJid(item.with);
  return other !== undefined && other.bareString === q.with.bareString;
}

export function selectPage(all: readonly ArchiveItem[], q: MamQuery): Page {
  const position = new Map<string, number>();
  all.forEach((item, i) => position.set(item.uid, i));
  // §4.1.3 and §4.3.2: an id the archive does not hold is item-not-found.
  const at = (uid: string): number => {
    const p = position.get(uid);
    if (p === undefined) throw new StanzaError('item-not-found', 'No message with that id in the archive');
    return p;
  };
  const afterId = q.afterId !== undefined ? at(q.afterId) : undefined;
  const beforeId = q.beforeId !== undefined ? at(q.beforeId) : undefined;
  const ids = q.ids ? new Set(q.ids) : undefined;
  if (q.ids) for (const id of q.ids) at(id);
  const rsmAfter = q.after !== undefined ? at(q.after) : undefined;
  const rsmBefore = q.before !== undefined && q.before !== '' ? at(q.before) : undefined;

  const selected: number[] = [];
  all.forEach((item, i) => {
    const t = item.when.getTime();
    if (q.start !== undefined && t < q.start) return;
    if (q.end !== undefined && t > q.end) return;
    if (afterId !== undefined && i <= afterId) return;
    if (beforeId !== undefined && i >= beforeId) return;
    if (ids && !ids.has(item.uid)) return;
    if (!withMatches(item, q)) return;
    selected.push(i);
  });

  const candidates = selected.filter((i) => (rsmAfter === undefined || i > rsmAfter) && (rsmBefore === undefined || i < rsmBefore));
  // <before/> pages backwards (XEP-0059 §2.3, §2.5): the page nearest to it, still oldest first.
  const backwards = q.before !== undefined;
  const chosen = q.max === 0 ? [] : backwards ? candidates.slice(-q.max) : candidates.slice(0, q.max);
  return {
    items: chosen.map((i) => all[i] as ArchiveItem),
    count: selected.length,
    complete: chosen.length === candidates.length,
  };
}
