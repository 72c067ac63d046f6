// Fuzzing the incoming XML stream parser (src/core/xml/parser.ts, RFC 6120 §4 and §11).
//
// Properties: a generated valid stream gives exactly its stanzas, however its bytes (or string
// code units) are split into writes; the stanza size and nesting limits are exact; mutated, random
// and token-soup input never throws out of write(), gives at most one error and nothing after it,
// and keeps every stanza that was complete before the damage; handlers that throw, reset, write or
// end the parser from inside a callback never break those rules.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StreamError } from '../../src/core/errors.ts';
import { Element } from '../../src/core/xml/element.ts';
import { NS_STREAM, StreamParser } from '../../src/core/xml/parser.ts';
import { fuzzTests, type FuzzTarget } from './lib/runner.ts';

// ---------------------------------------------------------------------------
// A model of valid streams and a randomised serializer

interface XNode {
  name: string;
  xmlns: string | undefined;
  attrs: [string, string][];
  children: (XNode | string)[];
}

interface XStream {
  decl: string;
  headerAttrs: [string, string][];
  stanzas: XNode[];
  /** Whitespace before each stanza (insignificant between stanzas, RFC 6120 §11.7). */
  gaps: string[];
  closed: boolean;
  /** Seeds the serializer's choices (quotes, escapes, CDATA, whitespace). */
  style: number;
}

const cp = (lo: number, hi: number): fc.Arbitrary<string> => fc.integer({ min: lo, max: hi }).map((c) => String.fromCodePoint(c));

/** Any XML 1.0 Char, weighted towards the ones with special meaning. */
const xmlChar = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...'abcxyz XYZ019.-_:;!?/=#%'.split('')) },
  { weight: 4, arbitrary: fc.constantFrom('<', '>', '&', '"', "'", ']', '\t', '\n', '\r') },
  { weight: 2, arbitrary: cp(0x80, 0xd7ff) },
  { weight: 1, arbitrary: cp(0xe000, 0xfffd) },
  { weight: 1, arbitrary: cp(0x10000, 0x10ffff) },
);
const textArb = fc.array(xmlChar, { minLength: 1, maxLength: 24 }).map((a) => a.join(''));

const nameStart = fc.constantFrom(...'abcdefghijkmnopqrstuvwyzABQZ_'.split(''), 'é', 'ß', '名', 'Ω', 'ǅ');
const nameChar = fc.constantFrom(...'abcxyz0129-._'.split(''), 'é', '·', '٣');
const nameArb = fc
  .tuple(nameStart, fc.array(nameChar, { maxLength: 8 }))
  .map(([a, b]) => a + b.join(''));
const attrArb = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(nameArb, fc.array(xmlChar, { maxLength: 16 }).map((a) => a.join(''))) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('xml:lang'), fc.constantFrom('en', 'de-CH', '')) },
);
const nsArb = fc.constantFrom('jabber:client', 'urn:a', 'urn:b', 'http://example.com/x?y=1&z=2', '');

const { node: nodeArb } = fc.letrec<{ node: XNode; child: XNode | string }>((tie) => ({
  node: fc.record({
    name: nameArb,
    xmlns: fc.option(nsArb, { nil: undefined, freq: 3 }),
    attrs: fc.uniqueArray(attrArb, { selector: ([k]) => k, maxLength: 4 }),
    children: fc.array(tie('child'), { maxLength: 4 }),
  }),
  child: fc.oneof({ maxDepth: 4, depthIdentifier: 'xml' }, textArb, tie('node')),
}));

const wsArb = fc.array(fc.constantFrom(' ', '\n', '\t', '\r\n'), { maxLength: 3 }).map((a) => a.join(''));

const HEADER_ATTRS: [string, string][] = [
  ['xmlns', 'jabber:client'],
  ['xmlns:stream', NS_STREAM],
  ['to', 'example.com'],
  ['version', '1.0'],
];

function streamArb(opts: { gaps: boolean; maxStanzas?: number }): fc.Arbitrary<XStream> {
  return fc.record({
    decl: fc.constantFrom('', "<?xml version='1.0'?>", '<?xml version="1.0" encoding="UTF-8"?>\n'),
    headerAttrs: fc.shuffledSubarray(HEADER_ATTRS.slice(2)).map((rest) => [...HEADER_ATTRS.slice(0, 2), ...rest]),
    stanzas: fc.array(nodeArb, { maxLength: opts.maxStanzas ?? 6 }),
    gaps: opts.gaps ? fc.array(wsArb, { minLength: 8, maxLength: 8 }) : fc.constant([]),
    closed: fc.boolean(),
    style: fc.integer(),
  });
}

/** mulberry32: the serializer's choices come from the stream's seed, so a failing case replays. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function charRef(c: string, r: () => number): string {
  const code = c.codePointAt(0) ?? 0;
  if (r() < 0.5) return `&#${String(code)};`;
  const hex = code.toString(16);
  return `&#x${r() < 0.5 ? hex : hex.toUpperCase()};`;
}

const NAMED: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' };

/** Escapes text or an attribute value (quoted by `quote`), choosing among the equivalent forms. */
function escape(s: string, r: () => number, quote?: string, before = ''): string {
  let out = before;
  for (const c of s) {
    const must =
      c === '<' || c === '&' || c === '\r' || c === quote ||
      (quote !== undefined && (c === '\t' || c === '\n')) || // attribute-value normalization would turn them into spaces
      (c === '>' && out.endsWith(']]'));
    const roll = r();
    if (!must && roll < 0.8) out += c;
    else if (NAMED[c] !== undefined && roll < 0.9) out += NAMED[c];
    else out += charRef(c, r);
  }
  return out.slice(before.length);
}

const ws = (r: () => number, min: number): string => {
  const n = min + (r() < 0.7 ? 0 : Math.floor(r() * 3));
  let s = '';
  for (let i = 0; i < n; i++) s += ' \n\t\r'[Math.floor(r() * 4)] ?? ' ';
  return s;
};

function serializeAttrs(attrs: [string, string][], r: () => number): string {
  let s = '';
  for (const [k, v] of attrs) {
    const q = r() < 0.5 ? "'" : '"';
    s += ws(r, 1) + k + (r() < 0.1 ? ws(r, 1) : '') + '=' + (r() < 0.1 ? ws(r, 1) : '') + q + escape(v, r, q) + q;
  }
  return s;
}

function allAttrs(n: XNode): [string, string][] {
  return n.xmlns === undefined ? n.attrs : [['xmlns', n.xmlns], ...n.attrs];
}

function serializeNode(n: XNode, r: () => number): string {
  let s = '<' + n.name + serializeAttrs(allAttrs(n), r) + (r() < 0.2 ? ws(r, 1) : '');
  if (n.children.length === 0 && r() < 0.6) return s + '/>';
  s += '>';
  for (const c of n.children) {
    if (typeof c !== 'string') s += serializeNode(c, r);
    else if (r() < 0.15 && !c.includes(']]>') && !c.includes('\r')) s += `<![CDATA[${c}]]>`;
    else s += escape(c, r, undefined, s.slice(-2)); // no ']]>' across two text runs either
  }
  return s + '</' + n.name + (r() < 0.1 ? ws(r, 1) : '') + '>';
}

function serializeStream(st: XStream): { text: string; stanzaBytes: number[] } {
  const r = rng(st.style);
  let text = st.decl + '<stream:stream' + serializeAttrs(st.headerAttrs, r) + '>';
  const stanzaBytes: number[] = [];
  st.stanzas.forEach((n, i) => {
    const s = serializeNode(n, r);
    text += (st.gaps[i] ?? '') + s;
    stanzaBytes.push(Buffer.byteLength((st.gaps[i] ?? '') + s));
  });
  if (st.closed) text += (st.gaps[7] ?? '') + '</stream:stream>';
  return { text, stanzaBytes };
}

/** The Element the parser must produce for a model node (no prefixes: attributes stay as written). */
function expected(n: XNode): Element {
  const children: (Element | string)[] = [];
  for (const c of n.children) {
    if (typeof c !== 'string') children.push(expected(c));
    else if (typeof children[children.length - 1] === 'string') children[children.length - 1] += c;
    else children.push(c);
  }
  return new Element(n.name, Object.fromEntries(allAttrs(n)), children);
}

// ---------------------------------------------------------------------------
// Running the parser

type Event = string;

interface Run {
  events: Event[];
  errors: StreamError[];
  /** Problems with the callback sequence itself (callbacks after the end, non-StreamError errors...). */
  violations: string[];
}

type Action = 'none' | 'throw' | 'reset' | 'write' | 'end';

interface RunOptions {
  maxStanzaSize?: number;
  maxDepth?: number;
  /** Per-callback actions for the handler-chaos target (cycled). */
  actions?: Action[];
  /** Bytes written from inside a handler for the 'write' action. */
  extra?: Buffer;
}

function run(chunks: (Buffer | string)[], opts: RunOptions = {}): Run {
  const out: Run = { events: [], errors: [], violations: [] };
  let terminal: string | null = null;
  let callbacks = 0;
  let writes = 0;
  let threw = false;
  const actions = opts.actions ?? [];
  const note = (ev: string): void => {
    if (terminal !== null) out.violations.push(`${ev} after ${terminal}`);
    if (threw && !ev.startsWith('error:internal-server-error')) out.violations.push(`${ev} after a handler threw`);
    out.events.push(ev);
  };
  const act = (): void => {
    const a = actions[callbacks++ % Math.max(actions.length, 1)] ?? 'none';
    if (actions.length === 0 || a === 'none') return;
    if (a === 'throw') {
      threw = true;
      throw new Error('handler failure');
    }
    if (a === 'reset') p.reset();
    else if (a === 'write') {
      // Bounded: a handler answering every stanza with another one would feed the parser forever.
      if (writes++ < 4) p.write(opts.extra ?? Buffer.from(' '));
    }
    else {
      p.end();
      terminal = 'end()';
    }
  };
  const p: StreamParser = new StreamParser(
    {
      streamStart(attrs, qname) {
        note(`start:${qname}`);
        if (typeof attrs !== 'object') out.violations.push('attrs not an object');
        act();
      },
      element(el) {
        note(`el:${el.toString()}`);
        if (!(el instanceof Element)) out.violations.push('element not an Element');
        act();
      },
      streamEnd() {
        note('end');
        terminal = 'streamEnd';
        act();
      },
      error(err) {
        note(`error:${String((err as { condition?: string }).condition)}`);
        if (!(err instanceof StreamError)) out.violations.push(`error is not a StreamError: ${String(err)}`);
        out.errors.push(err);
        terminal = 'error';
      },
      keepalive() {
        if (terminal !== null) out.violations.push(`keepalive after ${terminal}`);
        act();
      },
    },
    {
      maxStanzaSize: opts.maxStanzaSize ?? 1024 * 1024,
      ...(opts.maxDepth !== undefined ? { maxDepth: opts.maxDepth } : {}),
    },
  );
  for (const c of chunks) {
    try {
      p.write(c);
    } catch (e) {
      out.violations.push(`write() threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
  }
  // Nothing may come out of a parser that has finished.
  if (terminal !== null) {
    const before = out.events.length;
    try {
      p.write(Buffer.from('<message><body>late</body></message></stream:stream>'));
    } catch (e) {
      out.violations.push(`write() after the end threw: ${String(e)}`);
    }
    if (out.events.length !== before) out.violations.push('callbacks for a write after the end');
  }
  if (out.errors.length > 1) out.violations.push(`${String(out.errors.length)} error callbacks`);
  return out;
}

/** Splits `data` at the given offsets (taken modulo its length). */
function split<T extends Buffer | string>(data: T, cuts: number[]): T[] {
  if (data.length === 0) return [data];
  const points = [...new Set(cuts.map((c) => c % data.length))].filter((c) => c > 0).sort((a, b) => a - b);
  const out: T[] = [];
  let from = 0;
  for (const p of points) {
    out.push(data.slice(from, p) as T);
    from = p;
  }
  out.push(data.slice(from) as T);
  return out;
}

function assertClean(r: Run, what: string): void {
  assert.deepEqual(r.violations, [], `${what}: ${r.events.join(' | ').slice(0, 2000)}`);
}

const cutsArb = fc.array(fc.nat(), { maxLength: 24 });

// ---------------------------------------------------------------------------
// Mutations

const TOKENS = [
  '<', '>', '&', ';', '/', '=', "'", '"', ':', '\0', '&#0;', '&#xD800;', '&#x110000;', '&amp', '&unknown;', ']]>',
  '<![CDATA[', '<!--', '-->', '<?xml version="1.0"?>', '<?pi x?>', '<!DOCTYPE x>', '<!ENTITY a "b">', '</stream:stream>',
  `<stream:stream xmlns:stream='${NS_STREAM}'>`, '</a>', '<a>', '<a/>', 'xmlns:p="urn:x"', 'xmlns=""', ' p:a="1"', '<p:a>', '<stream:error/>',
  '\ufeff', '\u0085', '\u2028', '\ufffe', '\x7f', '\x1b', '&' + 'a'.repeat(40), '<'.repeat(50), '<a>'.repeat(120), 'x'.repeat(300),
];
const BAD_BYTES = [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0xe2, 0x82], [0x80]];

type Mutation =
  | { op: 'flip'; at: number; byte: number }
  | { op: 'insert'; at: number; token: number }
  | { op: 'bad'; at: number; which: number }
  | { op: 'delete'; at: number; len: number }
  | { op: 'dup'; at: number; len: number }
  | { op: 'truncate'; at: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), token: fc.nat(TOKENS.length - 1) }),
  fc.record({ op: fc.constant('bad' as const), at: fc.nat(), which: fc.nat(BAD_BYTES.length - 1) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ op: fc.constant('dup' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

/** Applies the mutations; returns the bytes and the first offset where they differ from the original. */
function mutate(data: Buffer, ms: Mutation[]): { bytes: Buffer; firstChange: number } {
  let b = data;
  let first = data.length;
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    first = Math.min(first, at);
    switch (m.op) {
      case 'flip':
        if (at < b.length) b = Buffer.concat([b.subarray(0, at), Buffer.from([m.byte]), b.subarray(at + 1)]);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(TOKENS[m.token] ?? '<'), b.subarray(at)]);
        break;
      case 'bad':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(BAD_BYTES[m.which] ?? [0xff]), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
        break;
      case 'dup':
        b = Buffer.concat([b.subarray(0, at + m.len), b.subarray(at)]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
    }
  }
  return { bytes: b, firstChange: first };
}

// ---------------------------------------------------------------------------
// Targets

export const targets = {
  /** Valid streams: the model's stanzas, unchunked and in random byte or string chunks alike. */
  'valid streams in random chunks': {
    runs: 20_000,
    arbitrary: () => fc.record({ stream: streamArb({ gaps: true }), cuts: cutsArb, strings: fc.boolean() }),
    check({ stream, cuts, strings }) {
      const { text } = serializeStream(stream);
      const want = ['start:stream:stream', ...stream.stanzas.map((n) => `el:${expected(n).toString()}`), ...(stream.closed ? ['end'] : [])];
      const whole = run([Buffer.from(text)]);
      assertClean(whole, 'whole');
      assert.deepEqual(whole.events, want, `unchunked: ${text}`);
      const chunks = strings ? split(text, cuts) : split(Buffer.from(text), cuts);
      const chunked = run(chunks);
      assertClean(chunked, 'chunked');
      assert.deepEqual(chunked.events, want, `chunked ${JSON.stringify(chunks.map(String))}`);
    },
  } satisfies FuzzTarget<{ stream: XStream; cuts: number[]; strings: boolean }>,

  /** maxStanzaSize is exact: a stanza of that many UTF-8 bytes passes, one more byte is a policy-violation. */
  'stanza size limit': {
    runs: 10_000,
    arbitrary: () =>
      fc.record({ stream: streamArb({ gaps: false, maxStanzas: 5 }), cuts: cutsArb, max: fc.integer({ min: 300, max: 1500 }) }),
    check({ stream, cuts, max }) {
      const { text, stanzaBytes } = serializeStream(stream);
      const over = stanzaBytes.findIndex((n) => n > max);
      const kept = over === -1 ? stream.stanzas : stream.stanzas.slice(0, over);
      const want = [
        'start:stream:stream',
        ...kept.map((n) => `el:${expected(n).toString()}`),
        ...(over !== -1 ? ['error:policy-violation'] : stream.closed ? ['end'] : []),
      ];
      const r = run(split(Buffer.from(text), cuts), { maxStanzaSize: max });
      assertClean(r, 'size');
      assert.deepEqual(r.events, want, `max ${String(max)}, stanza sizes ${stanzaBytes.join(',')}`);
    },
  } satisfies FuzzTarget<{ stream: XStream; cuts: number[]; max: number }>,

  /** maxDepth counts the top-level element as 1: one level more is a policy-violation. */
  'nesting limit': {
    runs: 2_000,
    arbitrary: () => fc.record({ depth: fc.integer({ min: 1, max: 40 }), max: fc.integer({ min: 1, max: 40 }), cuts: cutsArb }),
    check({ depth, max, cuts }) {
      const text = `<stream:stream xmlns='jabber:client' xmlns:stream='${NS_STREAM}'>${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}`;
      const r = run(split(Buffer.from(text), cuts), { maxDepth: max });
      assertClean(r, 'depth');
      assert.equal(r.events.at(-1)?.startsWith(depth > max ? 'error:policy-violation' : 'el:'), true, r.events.join(' | '));
    },
  } satisfies FuzzTarget<{ depth: number; max: number; cuts: number[] }>,

  /**
   * Valid streams with bytes flipped, inserted (markup, bad UTF-8), deleted, duplicated or cut off:
   * the callback rules hold, and every stanza that ended in a write before the first change is delivered.
   */
  'mutated streams': {
    runs: 50_000,
    arbitrary: () =>
      fc.record({ stream: streamArb({ gaps: true }), mutations: fc.array(mutationArb, { minLength: 1, maxLength: 4 }), cuts: cutsArb }),
    check({ stream, mutations, cuts }) {
      const original = Buffer.from(serializeStream(stream).text);
      const { bytes, firstChange } = mutate(original, mutations);
      const chunks = split(bytes, cuts);
      const r = run(chunks);
      assertClean(r, 'mutated');
      // The stanzas (in order) that ended within a write that finished before the first changed byte.
      let chunkStart = 0;
      for (const c of chunks) {
        if (chunkStart + c.length > firstChange) break;
        chunkStart += c.length;
      }
      const reference = run([original.subarray(0, chunkStart)]);
      const refEls = reference.events.filter((e) => e.startsWith('el:'));
      const gotEls = r.events.filter((e) => e.startsWith('el:'));
      assert.deepEqual(gotEls.slice(0, refEls.length), refEls, `stanzas before offset ${String(firstChange)} were lost`);
    },
  } satisfies FuzzTarget<{ stream: XStream; mutations: Mutation[]; cuts: number[] }>,

  /** Random bytes, and random soups of XML tokens after a valid header: the callback rules hold. */
  'random bytes and token soup': {
    runs: 50_000,
    arbitrary: () =>
      fc.record({
        body: fc.oneof(
          fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
          fc
            .array(fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 8, unit: 'binary' }), textArb, nameArb), { maxLength: 40 })
            .map((a) => Buffer.from(a.join(''))),
        ),
        header: fc.boolean(),
        cuts: cutsArb,
      }),
    check({ body, header, cuts }) {
      const head = header ? Buffer.from(`<stream:stream xmlns='jabber:client' xmlns:stream='${NS_STREAM}'>`) : Buffer.alloc(0);
      const r = run(split(Buffer.concat([head, body]), cuts), { maxStanzaSize: 4096 });
      assertClean(r, 'random');
    },
  } satisfies FuzzTarget<{ body: Buffer; header: boolean; cuts: number[] }>,

  /** Handlers that throw, reset(), write() or end() from inside a callback. */
  'handlers that throw, reset, write or end': {
    runs: 10_000,
    arbitrary: () =>
      fc.record({
        stream: streamArb({ gaps: true }),
        mutations: fc.array(mutationArb, { maxLength: 2 }),
        cuts: cutsArb,
        actions: fc.array(fc.constantFrom<Action>('none', 'none', 'none', 'throw', 'reset', 'write', 'end'), { minLength: 1, maxLength: 8 }),
        extra: fc.constantFrom(
          ' ',
          '<message/>',
          `<stream:stream xmlns='jabber:client' xmlns:stream='${NS_STREAM}'>`,
          '</stream:stream>',
          '<',
          '\xff',
        ),
      }),
    check({ stream, mutations, cuts, actions, extra }) {
      const { bytes } = mutate(Buffer.from(serializeStream(stream).text), mutations);
      const r = run(split(bytes, cuts), { actions, extra: Buffer.from(extra, 'latin1') });
      assertClean(r, 'chaos');
    },
  } satisfies FuzzTarget<{ stream: XStream; mutations: Mutation[]; cuts: number[]; actions: Action[]; extra: string }>,
};

fuzzTests(import.meta.url, targets);
