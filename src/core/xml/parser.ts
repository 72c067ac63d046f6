// RFC 6120 §4 (XML streams) and §11 (XML usage: restricted XML, namespaces, UTF-8): the incoming
// stream parser. Tokenizing and well-formedness checks are done by `saxes` (a strict, conforming
// XML 1.0 parser; docs/xml-parser.md has the measurements behind that choice). This wrapper adds what
// XMPP needs on top: the §11.1 restrictions, namespace-prefix resolution, a per-stanza size cap
// enforced while bytes arrive, chunk-safe UTF-8 decoding, whitespace keepalives and stream restarts.
import { isUtf8 } from 'node:buffer';
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { StreamError } from '../errors.ts';
import { Element } from './element.ts';

export const NS_STREAM = 'http://etherx.jabber.org/streams';
const NS_XML = 'http://www.w3.org/XML/1998/namespace';
const NS_XMLNS = 'http://www.w3.org/2000/xmlns/';

export interface StreamParserHandlers {
  /** The stream header <stream:stream ...> (attrs as written, including xmlns and xmlns:stream). */
  streamStart(attrs: Record<string, string>, qualifiedName: string): void;
  /** A complete top-level child of the stream (depth 1), e.g. <message/>, <iq/>, <auth/>. */
  element(el: Element): void;
  /** </stream:stream> received. */
  streamEnd(): void;
  /** A fatal stream problem: close the stream with this error (no further callbacks after it). */
  error(err: StreamError): void;
  /** Whitespace between stanzas (RFC 6120 §4.6.1 keepalive): the peer is alive, reset idle timers. */
  keepalive?(): void;
}

export interface StreamParserOptions {
  /** UTF-8 bytes of one top-level element including its subtree; also caps text buffered between stanzas. */
  maxStanzaSize: number;
  /** Element nesting allowed inside one stanza (default 100); deeper is a policy violation. */
  maxDepth?: number;
}

type Parser = SaxesParser<{ xmlns: false; forceXMLVersion: true; defaultXMLVersion: '1.0' }>;
type Scope = Record<string, string>;

/**
 * saxes internals this wrapper touches (declared private in its typings). Handlers are stored in
 * these fields directly rather than through p.on(): on() adds them with a computed key, and V8 turns
 * an object that receives more than a handful of keyed property additions into a dictionary-mode
 * object, which made parsing 4x slower and doubled idle memory (see docs/xml-parser.md).
 */
interface SaxesInternals {
  openTagHandler: (tag: SaxesTagPlain) => void;
  closeTagHandler: () => void;
  textHandler: (text: string) => void;
  cdataHandler: (text: string) => void;
  attributeHandler: (attr: { name: string; value: string }) => void;
  doctypeHandler: () => void;
  commentHandler: () => void;
  piHandler: () => void;
  errorHandler: (err: Error) => void;
  /** Per-instance array of prototype methods, identical for every instance: shared to save memory. */
  stateTable: unknown;
  /** The entity name being read after '&'. */
  entity: unknown;
}

/** Bytes handed to saxes per call: how far past maxStanzaSize buffering can go before we check. */
const SLICE = 16 * 1024;
const DEFAULT_MAX_DEPTH = 100;
/** saxes reads everything after '&' up to the next ';' as the entity name; legitimate ones are short. */
const MAX_ENTITY = 32;
/** Namespace an xmlns-less child of a top-level `stream:*` element can never be assumed to have. */
const NO_NS = '\0';
const WHITESPACE = /^[ \t\r\n]*$/;
/** Characters that cannot occur in an entity reference's name. */
const NOT_IN_NAME = /[\s<>&'"/=]/;

// Sentinels thrown through saxes to abandon the rest of a chunk.
const RESTART = Symbol('restart');
const STOP = Symbol('stop');

/** Wraps an exception thrown by a user handler, to tell it apart from saxes' parse errors. */
class HandlerFailure {
  readonly cause: unknown;
  constructor(cause: unknown) {
    this.cause = cause;
  }
}

let sharedStateTable: unknown[] | undefined;

/** Maps saxes' error messages to RFC 6120 §4.9.3 conditions (the tests pin each mapping). */
function conditionFor(message: string): StreamError {
  const msg = message.replace(/^\d+:\d+: /, '');
  if (/declaration must (be|appear) at the start/.test(msg)) {
    return new StreamError('restricted-xml', 'an XML declaration is only allowed at the start of a stream');
  }
  if (/^processing instructions/.test(msg)) return new StreamError('restricted-xml', 'processing instructions are not allowed');
  if (/doctype/.test(msg)) return new StreamError('restricted-xml', 'DTDs are not allowed');
  if (/^undefined entity/.test(msg)) return new StreamError('restricted-xml', 'only predefined entities are allowed');
  return new StreamError('not-well-formed', msg);
}

/** Length of the prefix of `b` that ends on a UTF-8 character boundary (the rest waits for more bytes). */
function completeUtf8(b: Buffer): number {
  const n = b.length;
  for (let i = n - 1; i >= 0 && i >= n - 4; i--) {
    const c = b[i]!;
    if ((c & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead byte
    const need = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    return i + need <= n ? n : i;
  }
  return n; // no lead byte within 4: invalid, left for isUtf8 to reject
}

export class StreamParser {
  readonly #handlers: StreamParserHandlers;
  #max: number;
  readonly #maxDepth: number;
  #parser: Parser | null;
  /** The bytes of a UTF-8 sequence cut by the end of the last chunk. */
  #partial: Buffer | null = null;
  /** 'idle' before the stream header, 'open' inside the stream, 'done' after end/error/close. */
  #state: 'idle' | 'open' | 'done' = 'idle';
  /** Open elements of the current stanza; [0] is the top-level element. */
  #stack: Element[] = [];
  /**
   * Namespace state, three entries per nesting level (level 0 = what the stream header set up):
   * the namespace an Element child without `xmlns` attribute is understood to inherit, the XML
   * default namespace in scope, and the prefix bindings in scope (null-prototype objects chained
   * by prototype for inheritance).
   */
  #frames: (string | Scope)[] = [];
  /** Bytes fed since the last stanza boundary (stream header, end of a top-level element). */
  #pending = 0;
  /** Only whitespace has been fed since the last boundary, so a whitespace chunk is a keepalive. */
  #clean = false;
  /** Chars fed to the current saxes instance before the current write. */
  #base = 0;
  /** Offset into the current string where the last boundary fell during this write, or -1. */
  #markAt = -1;
  /** The string being fed (only during a saxes write). */
  #cur = '';
  /** The tag being parsed has an attribute name with a colon (set per attribute by saxes). */
  #colonAttrs = false;
  #restartAt = -1;
  /**
   * A top-level element (or the stream end) whose close tag saxes has reported but not yet checked:
   * saxes emits closetag before comparing names, so delivery waits for its next event or the end of
   * the write (see #flush). #readyAt is where it ended in the current string.
   */
  #ready: Element | typeof STOP | null = null;
  #readyAt = -1;
  /** Where in the current string the stream should restart if a handler being run calls reset(). */
  #callAt = -1;
  /** Non-null while write() runs: chunks written from inside a handler wait here. */
  #queue: (Buffer | string)[] | null = null;

  constructor(handlers: StreamParserHandlers, opts: StreamParserOptions) {
    this.#handlers = handlers;
    this.#max = opts.maxStanzaSize;
    this.#maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.#parser = this.#createParser();
  }

  write(chunk: Buffer | string): void {
    if (this.#state === 'done') return;
    if (this.#queue !== null) {
      this.#queue.push(chunk);
      return;
    }
    const queue: (Buffer | string)[] = (this.#queue = []);
    try {
      this.#write(chunk);
      while (queue.length > 0 && !this.#isDone()) this.#write(queue.shift()!);
      // saxes keeps a reference to the last chunk; drop it so idle connections hold no input.
      this.#parser?.write('');
    } catch (e) {
      this.#fail(e);
    } finally {
      this.#queue = null;
    }
  }

  /** Changes the stanza size limit, e.g. from the small pre-authentication one to the normal one. */
  setMaxStanzaSize(bytes: number): void {
    this.#max = bytes;
  }

  /** Restart after STARTTLS / SASL success (RFC 6120 §5.4.3.3, §6.4.6): a new stream header follows. */
  reset(): void {
    if (this.#state === 'done') return;
    if (this.#queue !== null && this.#parser !== null) {
      // Called from a handler mid-chunk: bytes after the current element belong to the new stream.
      this.#restartAt = this.#callAt;
      return;
    }
    this.#restart();
    // A partial UTF-8 sequence would have belonged to the old (pre-TLS) byte stream.
    this.#partial = null;
  }

  /** The transport closed: release everything; no further callbacks. */
  end(): void {
    this.#state = 'done';
    this.#release();
  }

  #isDone(): boolean {
    return this.#state === 'done';
  }

  #write(chunk: Buffer | string): void {
    if (typeof chunk === 'string') {
      for (let off = 0; off < chunk.length && !this.#isDone(); off += SLICE) {
        const s = chunk.slice(off, off + SLICE);
        this.#feed(s, Buffer.byteLength(s));
      }
      return;
    }
    for (let off = 0; off < chunk.length && !this.#isDone(); off += SLICE) {
      let b = chunk.subarray(off, off + SLICE);
      if (this.#partial !== null) {
        b = Buffer.concat([this.#partial, b]);
        this.#partial = null;
      }
      const end = completeUtf8(b);
      if (end < b.length) this.#partial = Buffer.from(b.subarray(end)); // a copy: at most 3 bytes kept
      const whole = end < b.length ? b.subarray(0, end) : b;
      // §11.6: only UTF-8; invalid sequences are an error rather than silently replaced.
      if (!isUtf8(whole)) throw new StreamError('not-well-formed', 'invalid UTF-8');
      this.#feed(whole.toString('utf8'), end);
    }
  }

  #restart(): void {
    this.#state = 'idle';
    this.#stack = [];
    this.#frames = [];
    this.#pending = 0;
    this.#clean = false;
    this.#restartAt = -1;
    this.#ready = null;
    this.#parser = this.#createParser();
  }

  #release(): void {
    this.#parser = null;
    this.#ready = null;
    this.#partial = null;
    this.#stack = [];
    this.#frames = [];
  }

  #fail(e: unknown): void {
    if (e === STOP || this.#state === 'done') return;
    let err: StreamError;
    if (e instanceof StreamError) err = e;
    else if (e instanceof HandlerFailure) {
      // A handler threw: parsing cannot resume mid-chunk, so close the stream rather than drop stanzas.
      err = new StreamError('internal-server-error');
      err.cause = e.cause;
    } else err = conditionFor(e instanceof Error ? e.message : String(e)); // saxes' well-formedness errors
    this.#state = 'done';
    this.#release();
    this.#handlers.error(err);
  }

  /** Feeds one decoded slice (`bytes` long on the wire) to saxes and enforces the size cap. */
  #feed(s: string, bytes: number): void {
    const parser = this.#parser!;
    if (this.#clean && this.#stack.length === 0 && this.#state === 'open' && WHITESPACE.test(s)) {
      // Whitespace between stanzas is insignificant (§11.7): not fed, so pings never accumulate.
      if (s.length > 0 && this.#handlers.keepalive) {
        this.#callAt = 0;
        try {
          this.#handlers.keepalive();
        } catch (e) {
          throw new HandlerFailure(e);
        }
        if (this.#restartAt >= 0) this.#restart();
      }
      return;
    }
    this.#markAt = -1;
    this.#cur = s;
    try {
      parser.write(s);
      if (this.#ready !== null) this.#flush();
    } catch (e) {
      if (e !== RESTART) throw e;
      const rest = s.slice(this.#restartAt);
      this.#restart();
      if (rest.length > 0) this.#feed(rest, Buffer.byteLength(rest));
      return;
    }
    this.#cur = '';
    this.#base += s.length;
    if (this.#markAt >= 0) {
      const tail = s.slice(this.#markAt);
      this.#pending = tail.length === 0 ? 0 : Buffer.byteLength(tail);
      this.#clean = WHITESPACE.test(tail);
    } else {
      this.#pending += bytes;
      if (this.#clean) this.#clean = WHITESPACE.test(s);
    }
    if (this.#pending > this.#max) throw new StreamError('policy-violation', `stanza larger than ${this.#max} bytes`);
    // A bare '&' (not a reference) makes saxes swallow input until some later ';': fail fast instead.
    const entity = (parser as unknown as SaxesInternals).entity;
    if (typeof entity === 'string' && entity.length > 0 && (entity.length > MAX_ENTITY || NOT_IN_NAME.test(entity))) {
      throw new StreamError('not-well-formed', 'malformed entity reference');
    }
  }

  /**
   * Exact size check for a top-level element that ended within this slice (the per-slice check only
   * bounds memory). Counting chars first avoids measuring bytes for the usual small stanza.
   */
  #checkSize(p: Parser): void {
    const end = p.position - this.#base;
    const from = this.#markAt >= 0 ? this.#markAt : 0;
    const before = this.#markAt >= 0 ? 0 : this.#pending;
    // A UTF-16 code unit is at most 3 UTF-8 bytes.
    if (before + 3 * (end - from) <= this.#max) return;
    if (before + Buffer.byteLength(this.#cur.slice(Math.max(from, 0), end)) > this.#max) {
      throw new StreamError('policy-violation', `stanza larger than ${this.#max} bytes`);
    }
  }

  /** A stanza boundary happened at the parser's current position in this write. */
  #mark(p: Parser): void {
    this.#markAt = p.position - this.#base;
  }

  #createParser(): Parser {
    this.#base = 0;
    const p: Parser = new SaxesParser({ xmlns: false, forceXMLVersion: true, defaultXMLVersion: '1.0' });
    // The error handler throws, so saxes stops at the first well-formedness error.
    const slots = p as unknown as SaxesInternals;
    slots.openTagHandler = (tag) => this.#open(tag);
    slots.closeTagHandler = () => this.#close();
    const text = (t: string): void => this.#text(t);
    slots.textHandler = text;
    slots.cdataHandler = text;
    // Lets #open skip scanning attributes for prefixes and declarations in the usual case.
    slots.attributeHandler = (attr) => {
      if (attr.name.indexOf(':') !== -1) this.#colonAttrs = true;
    };
    slots.doctypeHandler = () => this.#restricted('DTDs are not allowed');
    slots.commentHandler = () => this.#restricted('comments are not allowed');
    slots.piHandler = () => this.#restricted('processing instructions are not allowed');
    slots.errorHandler = (err) => {
      // A mismatched close tag was reported (as closetag) before this: that element never happened.
      if (/unexpected close tag|unmatched closing tag/.test(err.message)) this.#ready = null;
      else if (this.#ready !== null) this.#flush(); // a complete stanza before the error still counts
      throw conditionFor(err.message);
    };
    const table = slots.stateTable;
    if (Array.isArray(table)) {
      if (sharedStateTable === undefined) sharedStateTable = table;
      else if (table.length === sharedStateTable.length) slots.stateTable = sharedStateTable;
    }
    return p;
  }

  #restricted(text: string): never {
    if (this.#ready !== null) this.#flush();
    throw new StreamError('restricted-xml', text);
  }

  /** Delivers the pending top-level element or stream end: saxes has accepted its close tag. */
  #flush(): void {
    const ready = this.#ready!;
    this.#ready = null;
    this.#callAt = this.#readyAt;
    if (ready === STOP) {
      this.#state = 'done';
      this.#release();
      this.#call(() => this.#handlers.streamEnd());
      throw STOP; // nothing after </stream:stream> is parsed
    }
    this.#call(() => this.#handlers.element(ready));
  }

  /** Calls a user handler; its exceptions are not the peer's fault (see #fail). */
  #call(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      throw new HandlerFailure(e);
    }
    if (this.#state === 'done') throw STOP;
    if (this.#restartAt >= 0) throw RESTART;
  }

  #open(tag: SaxesTagPlain): void {
    if (this.#ready !== null) this.#flush();
    if (this.#state === 'idle') return this.#openStream(tag);
    const stack = this.#stack;
    const depth = stack.length;
    if (depth >= this.#maxDepth) throw new StreamError('policy-violation', 'elements nested too deeply');
    const attrs = tag.attributes;
    const frames = this.#frames;
    const f = depth * 3;
    const parentNs = frames[f] as string;
    let def = frames[f + 1] as string;
    const parentScope = frames[f + 2] as Scope;
    let scope = parentScope;
    const xmlns = attrs['xmlns'];
    if (xmlns !== undefined) def = xmlns;
    if (this.#colonAttrs) {
      // Rare: namespace declarations or prefixed attributes on this element.
      this.#colonAttrs = false;
      let prefixedAttrs = false;
      for (const k in attrs) {
        if (k.startsWith('xmlns:')) {
          if (scope === parentScope) scope = Object.create(parentScope) as Scope;
          scope[declare(k, attrs[k]!)] = attrs[k]!;
        } else if (k.indexOf(':') !== -1) prefixedAttrs = true;
      }
      if (prefixedAttrs) checkPrefixedAttrs(attrs, scope);
    }

    let name = tag.name;
    let ns: string;
    const colon = name.indexOf(':');
    if (colon === -1) {
      ns = def;
      if (depth === 0 && ns === NS_STREAM) {
        // <error xmlns='http://etherx.jabber.org/streams'/> is the same element as <stream:error/>.
        name = 'stream:' + name;
        delete attrs['xmlns'];
        ns = NO_NS;
      } else if (xmlns === undefined && def !== parentNs) {
        // The parent was prefixed into another namespace: make the inherited default explicit.
        attrs['xmlns'] = def;
      }
    } else {
      const prefix = name.slice(0, colon);
      const local = name.slice(colon + 1);
      if (prefix.length === 0 || local.length === 0 || local.indexOf(':') !== -1 || prefix === 'xmlns') {
        throw new StreamError('not-well-formed', 'malformed qualified name');
      }
      const uri = prefix === 'xml' ? NS_XML : scope[prefix];
      if (uri === undefined) throw new StreamError('bad-namespace-prefix', `unbound prefix ${prefix}`);
      if (depth === 0 && uri === NS_STREAM) {
        // Top-level stream-namespace elements keep their conventional name (stream:error).
        name = 'stream:' + local;
        ns = NO_NS;
      } else {
        // Prefixes stop here: the rest of the server sees local names with an xmlns attribute.
        name = local;
        ns = uri;
        attrs['xmlns'] = uri;
      }
    }

    const el = new Element(name, attrs);
    if (depth > 0) stack[depth - 1]!.children.push(el);
    stack.push(el);
    frames.push(ns, def, scope);
  }

  #openStream(tag: SaxesTagPlain): void {
    // These strings live as long as the connection (saxes keeps the root tag to match its close).
    // Copied, because V8 substrings keep the whole chunk they were cut from alive.
    const attrs = tag.attributes;
    for (const k in attrs) attrs[k] = detach(attrs[k]!);
    const qname = (tag.name = detach(tag.name));
    this.#colonAttrs = false;
    let def = '';
    const scope = Object.create(null) as Scope;
    let prefixedAttrs = false;
    for (const k in attrs) {
      if (k === 'xmlns') def = attrs[k]!;
      else if (k.startsWith('xmlns:')) scope[declare(k, attrs[k]!)] = attrs[k]!;
      else if (k.indexOf(':') !== -1) prefixedAttrs = true;
    }
    if (prefixedAttrs) checkPrefixedAttrs(attrs, scope);
    const colon = qname.indexOf(':');
    let uri: string | undefined = def;
    if (colon !== -1) {
      const prefix = qname.slice(0, colon);
      uri = prefix === 'xml' ? NS_XML : scope[prefix];
      if (uri === undefined) throw new StreamError('bad-namespace-prefix', `unbound prefix ${prefix}`);
    }
    if (uri !== NS_STREAM || qname.slice(colon + 1) !== 'stream') {
      throw new StreamError('invalid-namespace', 'the stream element must be {http://etherx.jabber.org/streams}stream');
    }
    // §11.6: UTF-8 is the only encoding.
    const p = this.#parser!;
    const enc = p.xmlDecl.encoding;
    if (enc !== undefined && !/^utf-?8$/i.test(enc)) throw new StreamError('unsupported-encoding');
    this.#state = 'open';
    // Top-level stanzas without xmlns inherit the stream's default (content) namespace.
    this.#frames = [def, def, scope];
    this.#mark(p);
    this.#clean = true;
    this.#callAt = this.#markAt;
    this.#call(() => this.#handlers.streamStart(attrs, qname));
  }

  #close(): void {
    if (this.#ready !== null) this.#flush();
    const stack = this.#stack;
    if (stack.length === 0) {
      // </stream:stream>, once saxes has checked that the name matches the header.
      this.#ready = STOP;
      return;
    }
    const el = stack.pop()!;
    this.#frames.length -= 3;
    if (stack.length === 0) {
      const p = this.#parser!;
      this.#checkSize(p);
      this.#mark(p);
      this.#clean = true;
      this.#ready = el;
      this.#readyAt = this.#markAt;
    }
  }

  #text(t: string): void {
    if (this.#ready !== null) this.#flush();
    const top = this.#stack[this.#stack.length - 1];
    if (top === undefined) {
      if (this.#state === 'idle') {
        if (WHITESPACE.test(t)) return;
        throw new StreamError('not-well-formed', 'text before the stream header');
      }
      // Character data directly inside <stream:stream>: only whitespace (keepalives) makes sense.
      if (!WHITESPACE.test(t)) throw new StreamError('bad-format', 'text outside of a stanza');
      return;
    }
    const children = top.children;
    const last = children.length - 1;
    // CDATA next to text arrives as two events; keep one string per run of text.
    if (last >= 0 && typeof children[last] === 'string') children[last] += t;
    else children.push(t);
  }
}

/** A copy of `s` that does not share storage with the (possibly large) string it was sliced from. */
function detach(s: string): string {
  // V8 copies substrings shorter than 13 characters anyway.
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

/** Validates an `xmlns:p` declaration (Namespaces in XML §3) and returns the prefix. */
function declare(attr: string, uri: string): string {
  const prefix = attr.slice(6);
  if (prefix.length === 0 || prefix.indexOf(':') !== -1) throw new StreamError('not-well-formed', 'malformed namespace declaration');
  if (prefix === 'xmlns' || uri === NS_XMLNS || uri === '' || (prefix === 'xml') !== (uri === NS_XML)) {
    throw new StreamError('bad-namespace-prefix', `invalid declaration of prefix ${prefix}`);
  }
  return prefix;
}

/**
 * Prefixed attributes (other than xml:* and declarations) must be bound. The binding is copied onto
 * the element so it still serializes correctly once routed away from the ancestors that declared it.
 */
function checkPrefixedAttrs(attrs: Record<string, string>, scope: Scope): void {
  for (const k in attrs) {
    const colon = k.indexOf(':');
    if (colon === -1) continue;
    const prefix = k.slice(0, colon);
    if (prefix === 'xmlns' || prefix === 'xml') continue;
    if (colon === 0 || colon === k.length - 1 || k.indexOf(':', colon + 1) !== -1) {
      throw new StreamError('not-well-formed', 'malformed attribute name');
    }
    const uri = scope[prefix];
    if (uri === undefined) throw new StreamError('bad-namespace-prefix', `unbound prefix ${prefix}`);
    if (attrs['xmlns:' + prefix] === undefined) attrs['xmlns:' + prefix] = uri;
  }
}
