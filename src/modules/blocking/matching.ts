// XEP-0191 "JID Matching" (the order of XEP-0016 §2.1): which blocklist items cover an address.
import { isIP } from 'node:net';
import type { Jid } from '../../core/jid.ts';

/**
 * True when an item of `items` (prepared JID strings) covers `jid`. The forms are tried in the
 * XEP's order, each derived from `jid`:
 *   1. user@domain/resource: only that resource;
 *   2. user@domain: any resource of the account;
 *   3. domain/resource: that resource on the domain (any localpart, as privacy lists read it);
 *   4. domain: "the domain itself matches, as does any user@domain, domain/resource, or address
 *      containing a subdomain".
 */
export function isCovered(items: ReadonlySet<string>, jid: Jid): boolean {
  if (items.size === 0) return false;
  if (items.has(jid.toString())) return true;
  if (jid.local !== '' && items.has(jid.bareString)) return true;
  if (jid.resource !== '' && items.has(`${jid.domain}/${jid.resource}`)) return true;
  let domain = jid.domain;
  if (items.has(domain)) return true;
  // Parent domains cover subdomains; an IP address has none.
  if (isIP(domain) !== 0 || domain.startsWith('[')) return false;
  for (let dot = domain.indexOf('.'); dot !== -1; dot = domain.indexOf('.')) {
    domain = domain.slice(dot + 1);
    if (items.has(domain)) return true;
  }
  return false;
}

/** Whether the item names an address that can receive a stanza (an account or a resource), not a domain. */
export function isAddressItem(item: Jid): boolean {
  return item.local !== '';
}
