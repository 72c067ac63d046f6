// RFC 6120 §4.1 and §8: cuts an XMPP stream into its top-level elements without building a tree.
// The load generator must spend far less CPU than the servers it measures, so it never parses
// stanzas fully: it finds element boundaries (depth counting, quote-aware inside tags) and reads
// the few attributes it needs with string searches. Servers do not send comments, CDATA or DTDs
// on a client stream (RFC 6120 §11.1 forbids the latter two), so those are not handled.

export interface FramerEvents {
  /** The opening <stream:stream ...> tag. */
  onOpen(tag: string): void;
  /** One complete top-level element (stanza, features, SASL or TLS negotiation element). */
  onElement(xml: string): void;
  /** </stream:stream>. */
  onClose(): void;
}

export class StanzaFramer {
  #buf = '';
  #pos = 0; // next index to scan
  #depth = 0; // 0 outside the stream, 1 inside it, 2+ inside a top-level element
  #start = -1; // start of the current top-level element in #buf
  #generation = 0; // bumped by reset(), so push() notices a handler started a new stream
  #events: FramerEvents;

  constructor(events: FramerEvents) {
    this.#events = events;
  }

  /** Forget everything: a new stream starts (after STARTTLS or SASL success, RFC 6120 §5.4.3.3, §6.4.6). */
  reset(): void {
    this.#buf = '';
    this.#pos = 0;
    this.#depth = 0;
    this.#start = -1;
    this.#generation++;
  }

  push(chunk: string): void {
    this.#buf = this.#buf ? this.#buf + chunk : chunk;
    const gen = this.#generation;
    const buf = this.#buf;
    const len = buf.length;
    let i = this.#pos;
    while (i < len) {
      const lt = buf.indexOf('<', i);
      if (lt < 0) {
        i = len;
        break;
      }
      // Find the end of this tag, skipping '>' inside quoted attribute values.
      let quote = 0;
      let gt = -1;
      for (let j = lt + 1; j < len; j++) {
        const c = buf.charCodeAt(j);
        if (quote) {
          if (c === quote) quote = 0;
        } else if (c === 0x22 || c === 0x27) {
          quote = c;
        } else if (c === 0x3e) {
          gt = j;
          break;
        }
      }
      if (gt < 0) {
        i = lt; // incomplete tag: wait for more bytes
        break;
      }
      i = gt + 1;
      const kind = buf.charCodeAt(lt + 1);
      if (kind === 0x3f /* ? */ || kind === 0x21 /* ! */) continue;
      if (kind === 0x2f /* / */) {
        this.#depth--;
        if (this.#depth === 1) {
          const start = this.#start;
          this.#start = -1;
          this.#events.onElement(buf.slice(start, i));
          if (this.#generation !== gen) return;
        } else if (this.#depth <= 0) {
          this.#depth = 0;
          this.#events.onClose();
          // The owner usually resets or stops here; whatever follows is ignored.
          this.#start = -1;
          i = len;
          break;
        }
        continue;
      }
      const selfClosing = buf.charCodeAt(gt - 1) === 0x2f;
      if (this.#depth === 0) {
        this.#events.onOpen(buf.slice(lt, i));
        if (!selfClosing) this.#depth = 1;
      } else if (this.#depth === 1) {
        if (selfClosing) {
          this.#events.onElement(buf.slice(lt, i));
        } else {
          this.#start = lt;
          this.#depth = 2;
        }
      } else if (!selfClosing) {
        this.#depth++;
      }
      // A handler may reset the framer for a new stream (TLS, SASL): stop using the old buffer.
      if (this.#generation !== gen) return;
    }
    // Drop what was consumed so the buffer only holds the unfinished element.
    const keep = this.#start >= 0 ? this.#start : i;
    if (keep > 0) {
      this.#buf = buf.slice(keep);
      if (this.#start >= 0) this.#start -= keep;
      this.#pos = i - keep;
    } else {
      this.#pos = i;
    }
  }
}

/** The element name of a top-level element, e.g. "message" or "stream:features". */
export function elementName(xml: string): string {
  let end = 1;
  for (; end < xml.length; end++) {
    const c = xml.charCodeAt(end);
    if (c === 0x20 || c === 0x3e || c === 0x2f || c === 0x09 || c === 0x0a || c === 0x0d) break;
  }
  return xml.slice(1, end);
}

/** An attribute of the element's opening tag (values the bench reads never contain '>'). */
export function attr(xml: string, name: string): string | undefined {
  const tagEnd = xml.indexOf('>');
  let from = 0;
  for (;;) {
    const at = xml.indexOf(name, from);
    if (at < 0 || (tagEnd >= 0 && at > tagEnd)) return undefined;
    from = at + name.length;
    const before = xml.charCodeAt(at - 1);
    if (before !== 0x20 && before !== 0x09 && before !== 0x0a && before !== 0x0d) continue;
    let j = at + name.length;
    while (xml.charCodeAt(j) === 0x20) j++;
    if (xml.charCodeAt(j) !== 0x3d /* = */) continue;
    j++;
    while (xml.charCodeAt(j) === 0x20) j++;
    const q = xml[j];
    if (q !== '"' && q !== "'") return undefined;
    const end = xml.indexOf(q, j + 1);
    return end < 0 ? undefined : unescapeXml(xml.slice(j + 1, end));
  }
}

/** The text of the first <name>…</name> child, e.g. a SASL challenge. */
export function childText(xml: string, name: string): string | undefined {
  let open = xml.indexOf(`<${name}`);
  for (;;) {
    if (open < 0) return undefined;
    const c = xml.charCodeAt(open + name.length + 1);
    if (c === 0x20 || c === 0x3e || c === 0x2f || c === 0x09 || c === 0x0a || c === 0x0d) break;
    open = xml.indexOf(`<${name}`, open + 1);
  }
  const gt = xml.indexOf('>', open);
  if (gt < 0) return undefined;
  if (xml.charCodeAt(gt - 1) === 0x2f) return '';
  const close = xml.indexOf(`</${name}>`, gt);
  return close < 0 ? undefined : unescapeXml(xml.slice(gt + 1, close));
}

export function unescapeXml(s: string): string {
  if (!s.includes('&')) return s;
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#([0-9]+);/g, (_, d: string) => String.fromCodePoint(parseInt(d, 10)))
    .replace(/&amp;/g, '&');
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}
