// Reads XEP-0227 documents (urn:xmpp:pie:0) as a stream: one <user/> element at a time, so a file
// of any size is read in bounded memory. Namespaces are resolved (prefixes as Prosody and ejabberd
// write them) and turned into literal xmlns attributes, as the rest of the server keeps elements.
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { Element } from '../core/xml/element.ts';

export const NS_PIE = 'urn:xmpp:pie:0';
export const NS_XINCLUDE = 'http://www.w3.org/2001/XInclude';

/** Largest file read (bytes): far above any real server's export of one host. */
export const MAX_FILE_BYTES = 1024 ** 3;
/** Largest <user/> element (bytes as read): every limit of the stored data together is far below. */
export const MAX_USER_BYTES = 16 * 1024 ** 2;
/** Bytes handed to the parser at once: how far past MAX_USER_BYTES a user element can grow before it is dropped. */
const SLICE = 64 * 1024;

export type PieItem =
  | { kind: 'user'; host: string; user: Element; line: number }
  /** A user element that could not be kept (too large): the rest of the file goes on. */
  | { kind: 'skipped'; host: string; name: string | undefined; line: number; reason: string }
  /** ejabberd's main file names one file per host with <xi:include href/>. */
  | { kind: 'include'; href: string; line: number };

export class PieFormatError extends Error {}

interface Frame {
  el: Element;
  ns: string;
}

/** Whitespace-only text between elements carries nothing in these payloads: dropped, so pretty-printed files import like compact ones. */
function trimLayout(el: Element): void {
  if (el.children.some((c) => typeof c !== 'string')) el.children = el.children.filter((c) => typeof c !== 'string' || c.trim() !== '');
}

function toElement(tag: SaxesTagNS, parentNs: string | undefined): Element {
  const attrs: Record<string, string> = {};
  const ns = tag.uri ?? '';
  if (ns !== parentNs) attrs['xmlns'] = ns;
  for (const a of Object.values(tag.attributes)) {
    if (a.prefix === 'xmlns' || a.name === 'xmlns') continue;
    if (a.prefix && a.prefix !== 'xml') attrs[`xmlns:${a.prefix}`] = a.uri;
    attrs[a.name] = a.value;
  }
  return new Element(tag.local ?? tag.name, attrs);
}

/** A streaming reader: write() bytes, then take() the items read so far. */
export class PieReader {
  readonly #parser = new SaxesParser({ xmlns: true, position: true });
  readonly #items: PieItem[] = [];
  readonly #maxUserBytes: number;
  #depth = 0;
  #rootSeen = false;
  /** 1 when the root is <host/> rather than <server-data/>. */
  #shift = 0;
  #host: string | undefined;
  /** The user element being built, innermost last. */
  #stack: Frame[] = [];
  #userLine = 0;
  #userBytes = 0;
  /** Set while skipping an oversized user element. */
  #skipping: { name: string | undefined; depth: number } | undefined;
  #error: Error | undefined;

  constructor(maxUserBytes = MAX_USER_BYTES) {
    this.#maxUserBytes = maxUserBytes;
    const p = this.#parser;
    p.on('opentag', (tag) => this.#open(tag));
    p.on('closetag', () => this.#close());
    p.on('text', (t) => this.#text(t));
    p.on('cdata', (t) => this.#text(t));
    p.on('error', (e) => {
      // saxes throws after this handler unless told otherwise; the first error is the one to report.
      const at = /^(?:[^:]*:)?(\d+):(\d+): (.*)$/s.exec(e.message);
      this.#error ??= new PieFormatError(at ? `line ${at[1]}, column ${at[2]}: malformed XML: ${at[3]}` : `malformed XML: ${e.message}`);
      throw this.#error;
    });
  }

  write(chunk: Buffer): void {
    for (let i = 0; i < chunk.length; i += SLICE) {
      const part = chunk.subarray(i, i + SLICE);
      if (this.#stack.length > 0) this.#userBytes += part.length;
      this.#parser.write(part.toString('utf8'));
      if (this.#stack.length > 0 && this.#userBytes > this.#maxUserBytes) this.#dropUser();
    }
  }

  end(): void {
    this.#parser.close();
    if (!this.#rootSeen) throw new PieFormatError('not a XEP-0227 document: no root element');
  }

  take(): PieItem[] {
    return this.#items.splice(0);
  }

  get #line(): number {
    return this.#parser.line;
  }

  #fail(message: string): never {
    throw (this.#error = new PieFormatError(`line ${this.#line}: ${message}`));
  }

  #open(tag: SaxesTagNS): void {
    this.#depth++;
    if (this.#skipping) return;
    const top = this.#stack.at(-1);
    if (top) {
      const el = toElement(tag, top.ns);
      top.el.children.push(el);
      this.#stack.push({ el, ns: tag.uri ?? '' });
      return;
    }
    const name = `{${tag.uri ?? ''}}${tag.local ?? tag.name}`;
    const isHost = tag.uri === NS_PIE && tag.local === 'host';
    if (this.#depth === 1) {
      this.#rootSeen = true;
      // ejabberd's per-host files (included from its main file) have <host/> as their root.
      if (isHost) this.#shift = 1;
      else if (tag.uri !== NS_PIE || tag.local !== 'server-data') this.#fail(`not a XEP-0227 document: the root element is ${name}, not {${NS_PIE}}server-data`);
    }
    const level = this.#depth + this.#shift;
    if (level === 2 && tag.uri === NS_XINCLUDE && tag.local === 'include') {
      const href = tag.attributes['href']?.value;
      if (!href) this.#fail('<xi:include/> without href');
      this.#items.push({ kind: 'include', href, line: this.#line });
    } else if (level === 2 && isHost) {
      const jid = tag.attributes['jid']?.value;
      if (!jid) this.#fail('<host/> without a jid attribute');
      this.#host = jid;
    } else if (level === 3 && this.#host !== undefined && tag.uri === NS_PIE && tag.local === 'user') {
      this.#userLine = this.#line;
      this.#userBytes = 0;
      this.#stack = [{ el: toElement(tag, undefined), ns: NS_PIE }];
    }
  }

  #close(): void {
    this.#depth--;
    if (this.#skipping) {
      if (this.#depth < this.#skipping.depth) this.#skipping = undefined;
      return;
    }
    const frame = this.#stack.pop();
    if (frame) {
      trimLayout(frame.el);
      if (this.#stack.length === 0 && this.#host !== undefined) this.#items.push({ kind: 'user', host: this.#host, user: frame.el, line: this.#userLine });
      return;
    }
    if (this.#depth + this.#shift === 1) this.#host = undefined;
  }

  #text(t: string): void {
    if (this.#skipping) return;
    this.#stack.at(-1)?.el.children.push(t);
  }

  #dropUser(): void {
    const name = this.#stack[0]?.el.attrs['name'];
    this.#items.push({
      kind: 'skipped',
      host: this.#host ?? '',
      name,
      line: this.#userLine,
      reason: `the <user/> element is larger than ${this.#maxUserBytes} bytes`,
    });
    this.#skipping = { name, depth: this.#depth - this.#stack.length + 1 };
    this.#stack = [];
  }
}

/** Reads a document from a byte stream, item by item; throws PieFormatError at the first flaw of the file itself. */
export async function* readPie(source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, limits: { maxFileBytes?: number; maxUserBytes?: number } = {}): AsyncGenerator<PieItem> {
  const maxFile = limits.maxFileBytes ?? MAX_FILE_BYTES;
  const reader = new PieReader(limits.maxUserBytes);
  let total = 0;
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    total += bytes.length;
    if (total > maxFile) throw new PieFormatError(`the file is larger than ${maxFile} bytes`);
    reader.write(bytes);
    yield* reader.take();
  }
  reader.end();
  yield* reader.take();
}

/** Parses one <user/> element given as XML text (what the CLI sends the server), namespaces resolved. */
export function parseUserElement(xml: string, maxUserBytes = MAX_USER_BYTES): Element {
  if (Buffer.byteLength(xml) > maxUserBytes) throw new PieFormatError(`the <user/> element is larger than ${maxUserBytes} bytes`);
  const reader = new PieReader(maxUserBytes);
  reader.write(Buffer.from(`<server-data xmlns='${NS_PIE}'><host jid='x'>${xml}</host></server-data>`));
  reader.end();
  const item = reader.take()[0];
  if (item?.kind !== 'user') throw new PieFormatError('expected one <user/> element');
  return item.user;
}
