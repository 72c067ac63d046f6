// RFC 6120 §4 (XML streams) and §11 (XML usage: restricted XML, namespaces, UTF-8): the incoming
// stream parser. Tokenizing and well-formedness checks are done by `saxes` (a strict, conforming
// XML 1.0 parser; see docs/xml-parser.md for why it was chosen); this wrapper adds what XMPP needs on
// top: the §11.1 restrictions, namespace-prefix resolution, a per-stanza size cap enforced while
// bytes arrive, chunk-safe UTF-8 decoding, whitespace keepalives and stream restarts.
import { StringDecoder } from 'node:string_decoder';
import { SaxesParser, type SaxesTagPlain, type XMLDecl } from 'saxes';
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
  /** Bytes of one top-level element including its subtree; also caps any buffered text between stanzas. */
  maxStanzaSize: number;
  /** Element nesting allowed inside one stanza; deeper is a policy violation (keeps recursion over trees safe). */
  maxDepth?: number;
}

type Parser = SaxesParser<{ xmlns: false; forceXMLVersion: true; defaultXMLVersion: '1.0' }>;
type Scope = Record<string, string>;

/** Bytes handed to saxes per call: how far past maxStanzaSize buffering can go before we check. */
const SLICE = 16 * 1024;
const DEFAULT_MAX_DEPTH = 100;
/** Namespace an xmlns-less child of a top-level `stream:*` element can never be assumed to have. */
const NO_NS = '\0';
const WHITESPACE = /^[ \t\r\n]*$/;

// Sentinels thrown through saxes to abandon the rest of a chunk.
const RESTART = Symbol('restart');
const STOP = Symbol('stop');

/** Maps saxes' error messages to RFC 6120 §4.9.3 conditions (tests pin these messages). */
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

export class StreamParser {
  readonly #handlers: StreamParserHandlers;
  readonly #max: number;
  readonly #maxDepth: number;
  #decoder: StringDecoder | null = new StringDecoder('utf8');
  #parser: Parser | null = null;
  /** 'idle' before the stream header, 'open' inside the stream, 'done' after end/error/close. */
  #state: 'idle' | 'open' | 'done' = 'idle';
  /** Open elements of the current stanza; [0] is the top-level element. */
  #stack: Element[] = [];
  // Namespace state per nesting level; index 0 is what the stream header established.
  /** The namespace an Element child without `xmlns` attribute is understood to inherit. */
  #nsStack: string[] = [];
  /** The XML default namespace in scope. */
  #defStack: string[] = [];
  /** Prefix bindings in scope (prototype chain for inheritance), null-prototype objects. */
  #scopeStack: Scope[] = [];
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
  #writing = false;
  #restartAt = -1;

  constructor(handlers: StreamParserHandlers, opts: StreamParserOptions) {
    this.#handlers = handlers;
    this.#max = opts.maxStanzaSize;
    this.#maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.#parser = this.#createParser();
  }

  write(chunk: Buffer | string): void {
    if (this.#state === 'done' || this.#writing) return;
    this.#writing = true;
    try {
      if (typeof chunk === 'string') {
        for (let off = 0; off < chunk.length && !this.#isDone(); off += SLICE) {
          const s = chunk.slice(off, off + SLICE);
          this.#feed(s, Buffer.byteLength(s));
        }
      } else {
        for (let off = 0; off < chunk.length && !this.#isDone(); off += SLICE) {
          const b = chunk.subarray(off, off + SLICE);
          this.#feed(this.#decoder!.write(b), b.length);
        }
      }
      // saxes keeps a reference to the last chunk; drop it so idle connections hold no input.
      this.#parser?.write('');
    } catch (e) {
      this.#fail(e);
    } finally {
      this.#writing = false;
    }
  }

  #isDone(): boolean {
    return this.#state === 'done';
  }

  /** Restart after STARTTLS / SASL success (RFC 6120 §5.4.3.3, §6.4.6): a new stream header follows. */
  reset(): void {
    if (this.#state === 'done') return;
    if (this.#writing && this.#parser) {
      // Called from a handler mid-chunk: bytes after the current element belong to the new stream.
      this.#restartAt = this.#parser.position - this.#base;
      return;
    }
    this.#restart();
    // Any partial UTF-8 sequence belonged to the old (pre-TLS) byte stream.
    this.#decoder = new StringDecoder('utf8');
  }

  /** The transport closed: release everything; no further callbacks. */
  end(): void {
    this.#state = 'done';
    this.#release();
  }

  #restart(): void {
    this.#state = 'idle';
    this.#stack = [];
    this.#nsStack = [];
    this.#defStack = [];
    this.#scopeStack = [];
    this.#pending = 0;
    this.#clean = false;
    this.#restartAt = -1;
    this.#parser = this.#createParser();
  }

  #release(): void {
    this.#parser = null;
    this.#decoder = null;
    this.#stack = [];
    this.#nsStack = [];
    this.#defStack = [];
    this.#scopeStack = [];
  }

  #fail(e: unknown): void {
    if (e === STOP || this.#state === 'done') return;
    let err: StreamError;
    if (e instanceof StreamError) err = e;
    else {
      // A handler threw: the parser state is unusable, close the stream rather than lose stanzas silently.
      err = new StreamError('internal-server-error');
      err.cause = e;
    }
    this.#state = 'done';
    this.#release();
    this.#handlers.error(err);
  }

  /** Feeds one decoded slice (`bytes` long on the wire) to saxes and enforces the size cap. */
  #feed(s: string, bytes: number): void {
    const parser = this.#parser!;
    if (this.#clean && this.#stack.length === 0 && this.#state === 'open' && WHITESPACE.test(s)) {
      // Whitespace between stanzas is insignificant (§11.7): not fed, so pings never accumulate.
      if (s.length > 0) this.#handlers.keepalive?.();
      return;
    }
    this.#markAt = -1;
    this.#cur = s;
    try {
      parser.write(s);
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
  #mark(parser: Parser): void {
    this.#markAt = parser.position - this.#base;
  }

  /** Runs a user handler; honours reset()/end() called from inside it by abandoning the chunk. */
  #afterCallback(): void {
    if (this.#state === 'done') throw STOP;
    if (this.#restartAt >= 0) throw RESTART;
  }

  #createParser(): Parser {
    this.#base = 0;
    const p: Parser = new SaxesParser({ xmlns: false, forceXMLVersion: true, defaultXMLVersion: '1.0' });
    p.on('opentag', (tag) => this.#open(p, tag));
    p.on('closetag', () => this.#close(p));
    p.on('text', (t) => this.#text(t));
    p.on('cdata', (t) => this.#text(t));
    p.on('error', (e) => {
      throw conditionFor(e.message);
    });
    p.on('xmldecl', (d: XMLDecl) => {
      // §11.6: UTF-8 is the only encoding.
      if (d.encoding !== undefined && !/^utf-?8$/i.test(d.encoding)) throw new StreamError('unsupported-encoding');
    });
    p.on('doctype', () => {
      throw new StreamError('restricted-xml', 'DTDs are not allowed');
    });
    p.on('comment', () => {
      throw new StreamError('restricted-xml', 'comments are not allowed');
    });
    p.on('processinginstruction', () => {
      throw new StreamError('restricted-xml', 'processing instructions are not allowed');
    });
    return p;
  }

  #open(p: Parser, tag: SaxesTagPlain): void {
    if (this.#state === 'idle') return this.#openStream(p, tag);
    const stack = this.#stack;
    const depth = stack.length;
    if (depth >= this.#maxDepth) throw new StreamError('policy-violation', 'elements nested too deeply');
    const attrs = tag.attributes;
    const parentNs = this.#nsStack[depth]!;
    let def = this.#defStack[depth]!;
    let scope = this.#scopeStack[depth]!;
    let prefixedAttrs = false;
    for (const k in attrs) {
      if (k.indexOf(':') === -1) {
        if (k === 'xmlns') def = attrs[k]!;
      } else if (k.startsWith('xmlns:')) {
        if (scope === this.#scopeStack[depth]) scope = Object.create(scope) as Scope;
        scope[declare(k, attrs[k]!)] = attrs[k]!;
      } else prefixedAttrs = true;
    }
    if (prefixedAttrs) checkPrefixedAttrs(attrs, scope);

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
      } else if (attrs['xmlns'] === undefined && def !== parentNs) attrs['xmlns'] = def;
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
    this.#nsStack.push(ns);
    this.#defStack.push(def);
    this.#scopeStack.push(scope);
  }

  #openStream(p: Parser, tag: SaxesTagPlain): void {
    const attrs = tag.attributes;
    const qname = tag.name;
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
    this.#state = 'open';
    this.#nsStack = [def];
    this.#defStack = [def];
    this.#scopeStack = [scope];
    this.#mark(p);
    this.#clean = true;
    this.#handlers.streamStart(attrs, qname);
    this.#afterCallback();
  }

  #close(p: Parser): void {
    const stack = this.#stack;
    if (stack.length === 0) {
      // </stream:stream>: saxes checked the name matches the header. Nothing after it is parsed.
      this.#state = 'done';
      this.#release();
      this.#handlers.streamEnd();
      throw STOP;
    }
    const el = stack.pop()!;
    this.#nsStack.pop();
    this.#defStack.pop();
    this.#scopeStack.pop();
    if (stack.length === 0) {
      this.#checkSize(p);
      this.#mark(p);
      this.#clean = true;
      this.#handlers.element(el);
      this.#afterCallback();
    }
  }

  #text(t: string): void {
    const top = this.#stack[this.#stack.length - 1];
    if (top === undefined) {
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
    if (colon === 0 || colon === k.length - 1 || k.indexOf(':', colon + 1) !== -1) throw new StreamError('not-well-formed', 'malformed attribute name');
    const uri = scope[prefix];
    if (uri === undefined) throw new StreamError('bad-namespace-prefix', `unbound prefix ${prefix}`);
    if (attrs['xmlns:' + prefix] === undefined) attrs['xmlns:' + prefix] = uri;
  }
}
