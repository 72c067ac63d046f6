// XEP-0227 §4: <offline-messages/> holds the messages waiting for the account, each with the
// XEP-0203 <delay/> of when it was stored. On import that stamp becomes the stored time again (so
// max_age still counts from the original arrival) and the stamp itself is removed, since delivery
// adds it back.
import { Buffer } from 'node:buffer';
import { el, type Element } from '../../core/xml/element.ts';
import { elementFromJson, elementToJson, type XmlJson } from '../../core/xml/xml-json.ts';
import type { ArchiveStore } from '../../core/storage.ts';
import { NS_DELAY, delayElement } from './delay.ts';

const NS_CLIENT = 'jabber:client';
const NS_LEGACY_DELAY = 'jabber:x:delay';

export interface OfflineImportLimits {
  maxAge: number;
  maxMessages: number;
  maxBytes: number;
}

export async function exportOffline(archive: ArchiveStore<XmlJson>, host: string, user: string, add: (e: Element) => void): Promise<void> {
  const messages: Element[] = [];
  for (const entry of await archive.list(user)) {
    let message: Element;
    try {
      message = elementFromJson(entry.value);
    } catch {
      continue;
    }
    message.attrs = { xmlns: NS_CLIENT, ...message.attrs };
    messages.push(message.append(delayElement(host, entry.when, 'Offline Storage')));
  }
  if (messages.length > 0) add(el('offline-messages', {}, ...messages));
}

/** The message as stored, and when it was stored (its last <delay/>; now when it has none). */
function unstamp(message: Element, host: string, user: string): { value: XmlJson; when: Date } {
  const copy = message.clone();
  const { xmlns: _ns, ...attrs } = copy.attrs;
  copy.attrs = { ...attrs, to: `${user}@${host}` };
  const delays = copy.getChildren('delay', NS_DELAY);
  const last = delays.at(-1);
  let when = new Date();
  if (last) {
    const stamp = Date.parse(last.attrs['stamp'] ?? '');
    if (Number.isFinite(stamp)) when = new Date(stamp);
    const by = last.attrs['from'];
    copy.children = copy.children.filter((c) => c !== last && (typeof c === 'string' || c.name !== 'x' || c.attrs['xmlns'] !== NS_LEGACY_DELAY || c.attrs['from'] !== by));
  }
  return { value: elementToJson(copy), when };
}

export async function importOffline(archive: ArchiveStore<XmlJson>, host: string, user: string, elements: readonly Element[], limits: OfflineImportLimits): Promise<void> {
  const container = elements.find((e) => e.name === 'offline-messages' && e.attrs['xmlns'] === undefined);
  if (!container) return;
  const cutoff = Date.now() - limits.maxAge;
  const kept: { value: XmlJson; when: Date }[] = [];
  let bytes = 0;
  for (const m of container.getChildren('message')) {
    const ns = m.attrs['xmlns'];
    if (ns !== undefined && ns !== NS_CLIENT) continue;
    const stored = unstamp(m, host, user);
    // Past offline.max_age it would be purged unread at once.
    if (stored.when.getTime() < cutoff) continue;
    bytes += Buffer.byteLength(JSON.stringify(stored.value));
    kept.push(stored);
  }
  if (kept.length > limits.maxMessages) throw new Error(`offline messages: ${kept.length}, more than offline.max_messages (${limits.maxMessages})`);
  if (bytes > limits.maxBytes) throw new Error(`offline messages: ${bytes} bytes, more than offline.max_bytes (${limits.maxBytes})`);
  kept.sort((a, b) => a.when.getTime() - b.when.getTime());
  for (const m of kept) await archive.append(user, m.value, m.when);
}
