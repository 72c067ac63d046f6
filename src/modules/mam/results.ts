// XEP-0313 §4.2 results: each archived message forwarded (XEP-0297) with its XEP-0203 delay in a
// <result/> from the archive's address, then the IQ result's <fin/> with the RSM <set/>; and the
// §5 (#extended) archive metadata.
import { randomUUID } from 'node:crypto';
import { el, type Element } from '../../core/xml/element.ts';
import type { ArchiveItem } from './archive-store.ts';
import type { Page } from './paging.ts';
import { NS_MAM } from './prefs.ts';
import { NS_RSM } from './query.ts';

const NS_FORWARD = 'urn:xmpp:forward:0';
const NS_DELAY = 'urn:xmpp:delay';
const NS_CLIENT = 'jabber:client';

/** One result message, from the archive (the account's bare JID) to the querying resource. */
export function resultMessage(archive: string, to: string, queryId: string | undefined, item: ArchiveItem): Element {
  const inner = item.message.clone();
  inner.attrs['xmlns'] = NS_CLIENT;
  return el('message', { from: archive, to, id: randomUUID() },
    el('result', { xmlns: NS_MAM, queryid: queryId, id: item.uid },
      el('forwarded', { xmlns: NS_FORWARD },
        el('delay', { xmlns: NS_DELAY, stamp: item.when.toISOString() }),
        inner)));
}

/**
 * The IQ result: <fin/> with first/last and count, complete='true' on the last page. No 'index' on
 * <first/> (§4.3.2: optional): clients such as slixmpp stop a backwards walk once index plus page
 * size reaches the count, which a page at the end of the archive always does.
 */
export function finElement(page: Page): Element {
  const first = page.items[0];
  const last = page.items.at(-1);
  const set = el('set', { xmlns: NS_RSM },
    first ? el('first', {}, first.uid) : null,
    last ? el('last', {}, last.uid) : null,
    el('count', {}, String(page.count)));
  return el('fin', { xmlns: NS_MAM, complete: page.complete ? 'true' : undefined }, set);
}

/** §5: the first and last entries of the archive; empty for an empty archive. */
export function metadataElement(all: readonly ArchiveItem[]): Element {
  const first = all[0];
  const last = all.at(-1);
  if (!first || !last) return el('metadata', { xmlns: NS_MAM });
  return el('metadata', { xmlns: NS_MAM },
    el('start', { id: first.uid, timestamp: first.when.toISOString() }),
    el('end', { id: last.uid, timestamp: last.when.toISOString() }));
}
