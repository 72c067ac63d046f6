// Benchmark for the RFC 6120 §11 stream XML parser choice: throughput, idle memory per instance
// and strictness of candidate npm XML parsers, plus JabberX's own StreamParser wrapper.
//
//   npx node bench/xml-parser.ts                 # all candidates that are installed
//   npx node bench/xml-parser.ts saxes ltx       # only these (names from the table below)
//   STANZAS=20000 npx node bench/xml-parser.ts   # smaller stream
//
// `sax` and `htmlparser2` are not project dependencies: install them outside the repo
// (`npm install --prefix /tmp/xmlbench sax htmlparser2`) and point XML_BENCH_MODULES at that
// folder; candidates that cannot be loaded are skipped. Each candidate runs in its own child
// process so JIT state and heap from one does not skew the next.
/* eslint-disable @typescript-eslint/no-explicit-any -- the candidates are loaded dynamically, several untyped */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { StringDecoder } from 'node:string_decoder';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Element } from '../src/core/xml/element.ts';
import { StreamParser } from '../src/core/xml/parser.ts';

const NS_STREAM = 'http://etherx.jabber.org/streams';
const HEADER =
  `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='${NS_STREAM}' ` +
  `to='example.com' from='juliet@example.com' version='1.0' xml:lang='en'>`;

// ---------------------------------------------------------------- input generation

/** Deterministic PRNG (mulberry32) so every run and every candidate sees the same bytes. */
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

const WORDS = [
  'hello', 'wherefore', 'art', 'thou', 'Romeo', 'café', 'naïve', 'Grüße', '日本語', 'テキスト',
  'привет', '😀', '🚀✨', 'a &amp; b', '&lt;3', 'it&apos;s', 'ok', 'x', 'the', 'meeting', '10:30',
];

function body(r: () => number): string {
  const n = 1 + Math.floor(r() * 25);
  const w: string[] = [];
  for (let i = 0; i < n; i++) w.push(WORDS[Math.floor(r() * WORDS.length)] ?? 'x');
  return w.join(' ');
}

function makeStream(stanzas: number): { data: Buffer; rosterItems: number } {
  const r = rng(42);
  const parts: string[] = [HEADER];
  let rosterItems = 0;
  for (let i = 0; i < stanzas; i++) {
    const p = r();
    if (r() < 0.02) parts.push(' '); // whitespace keepalive between stanzas
    if (p < 0.64) {
      parts.push(
        `<message to='juliet@capulet.lit/balcony' from='romeo@montague.lit/orchard' type='chat' id='m${i}'>` +
          `<body>${body(r)}</body><active xmlns='http://jabber.org/protocol/chatstates'/>` +
          `<request xmlns='urn:xmpp:receipts'/><origin-id xmlns='urn:xmpp:sid:0' id='o-${i}'/></message>`,
      );
    } else if (p < 0.99) {
      parts.push(
        `<presence from='nurse@capulet.lit/c${i % 97}' to='juliet@capulet.lit'><show>away</show>` +
          `<status>${body(r)}</status><priority>5</priority>` +
          `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://conversations.im' ver='q07IKJEyjvHSyhy//CH0CxmKi8w='/>` +
          `<x xmlns='vcard-temp:x:update'><photo>01b87fcd030b72895ff8e88db57ec525450f000d</photo></x></presence>`,
      );
    } else {
      let items = '';
      for (let k = 0; k < 100; k++) {
        items += `<item jid='contact${k}@example.org' name='Contact ${k} ✓' subscription='both'><group>Friends</group></item>`;
      }
      rosterItems += 100;
      parts.push(`<iq type='result' id='roster${i}' to='juliet@example.com/balcony'><query xmlns='jabber:iq:roster' ver='v${i}'>${items}</query></iq>`);
    }
  }
  return { data: Buffer.from(parts.join(''), 'utf8'), rosterItems };
}

/** Splits into TCP-like chunks: mostly up to one MSS, some coalesced reads, some tiny ones. */
function chunk(data: Buffer): { chunks: Buffer[]; splitChars: number } {
  const r = rng(7);
  const chunks: Buffer[] = [];
  let splitChars = 0;
  for (let off = 0; off < data.length; ) {
    const p = r();
    const size = p < 0.7 ? 1 + Math.floor(r() * 1460) : p < 0.9 ? 1460 + Math.floor(r() * 15000) : 1 + Math.floor(r() * 64);
    const end = Math.min(off + size, data.length);
    // A chunk ending on a UTF-8 continuation byte boundary means a multi-byte char was cut.
    if (end < data.length && ((data[end] ?? 0) & 0xc0) === 0x80) splitChars++;
    chunks.push(data.subarray(off, end));
    off = end;
  }
  return { chunks, splitChars };
}

// ---------------------------------------------------------------- candidate adapters
// Every adapter builds the same Element tree for each top-level child of the stream, so the
// comparison includes the cost of getting events into a usable shape, not only tokenizing.

interface Sink {
  stanza(el: Element): void;
  error(e: unknown): void;
  event(kind: string): void; // doctype / comment / pi events a wrapper would have to reject
}
interface Instance {
  write(b: Buffer): void;
}
type Factory = (sink: Sink) => Instance;

/** Builds Elements from start/text/end events; depth 0 is the stream element. */
class TreeBuilder {
  stack: Element[] = [];
  depth = 0;
  sink: Sink;
  constructor(sink: Sink) {
    this.sink = sink;
  }
  open(name: string, attrs: Record<string, string>): void {
    this.depth++;
    if (this.depth === 1) return;
    const e = new Element(name, attrs);
    const parent = this.stack[this.stack.length - 1];
    if (parent) parent.children.push(e);
    this.stack.push(e);
  }
  close(): void {
    this.depth--;
    if (this.depth === 0) return;
    const e = this.stack.pop();
    if (this.depth === 1 && e) this.sink.stanza(e);
  }
  text(t: string): void {
    const top = this.stack[this.stack.length - 1];
    if (top) top.children.push(t);
  }
}

/**
 * saxes keeps each handler in a field that its on() sets with a computed key; V8 turns an object that
 * receives more than a handful of such keyed additions into a dictionary-mode object, which makes
 * every field access in the parser slow (4x slower, measured). Assigning the same fields with
 * ordinary named stores keeps the object fast. This is what src/core/xml/parser.ts does too.
 */
function saxesHandlers(p: any, handlers: Record<string, (...a: any[]) => void>): void {
  if ('openTagHandler' in handlers) p.openTagHandler = handlers['openTagHandler'];
  if ('closeTagHandler' in handlers) p.closeTagHandler = handlers['closeTagHandler'];
  if ('textHandler' in handlers) p.textHandler = handlers['textHandler'];
  if ('errorHandler' in handlers) p.errorHandler = handlers['errorHandler'];
  if ('doctypeHandler' in handlers) p.doctypeHandler = handlers['doctypeHandler'];
  if ('commentHandler' in handlers) p.commentHandler = handlers['commentHandler'];
  if ('piHandler' in handlers) p.piHandler = handlers['piHandler'];
}

const modDir = process.env['XML_BENCH_MODULES'] ?? '/tmp/xmlbench';

async function load(name: string): Promise<any> {
  try {
    return await import(name);
  } catch {
    const req = createRequire(modDir.replace(/\/?$/, '/') + 'package.json');
    return await import(pathToFileURL(req.resolve(name)).href);
  }
}

async function candidates(): Promise<Record<string, () => Promise<Factory>>> {
  return {
    jabberx: async () => (sink) => {
      const p = new StreamParser(
        {
          streamStart() {},
          element: (e) => sink.stanza(e),
          streamEnd() {},
          error: (e) => sink.error(e),
        },
        { maxStanzaSize: 1 << 20 },
      );
      return { write: (b) => p.write(b) };
    },
    'saxes': async () => {
      const { SaxesParser } = await load('saxes');
      return (sink) => {
        const t = new TreeBuilder(sink);
        const d = new StringDecoder('utf8');
        const p = new SaxesParser({ xmlns: false });
        // Set saxes' handler slots by name rather than with p.on() (see saxesHandlers).
        saxesHandlers(p, {
          openTagHandler: (n: any) => t.open(n.name, n.attributes),
          closeTagHandler: () => t.close(),
          textHandler: (s: string) => t.text(s),
          errorHandler: (e: Error) => sink.error(e),
          doctypeHandler: () => sink.event('doctype'),
          commentHandler: () => sink.event('comment'),
          piHandler: () => sink.event('pi'),
        });
        return { write: (b) => p.write(d.write(b)) };
      };
    },
    'saxes-on': async () => {
      // saxes through its public on(): 8 handlers push the parser object into V8 dictionary mode.
      const { SaxesParser } = await load('saxes');
      return (sink) => {
        const t = new TreeBuilder(sink);
        const d = new StringDecoder('utf8');
        const p = new SaxesParser({ xmlns: false });
        p.on('opentag', (n: any) => t.open(n.name, n.attributes));
        p.on('closetag', () => t.close());
        p.on('text', (s: string) => t.text(s));
        p.on('cdata', (s: string) => t.text(s));
        p.on('error', (e: Error) => sink.error(e));
        p.on('doctype', () => sink.event('doctype'));
        p.on('comment', () => sink.event('comment'));
        p.on('processinginstruction', () => sink.event('pi'));
        return { write: (b) => p.write(d.write(b)) };
      };
    },
    'saxes-ns': async () => {
      const { SaxesParser } = await load('saxes');
      return (sink) => {
        const t = new TreeBuilder(sink);
        const d = new StringDecoder('utf8');
        const p = new SaxesParser({ xmlns: true });
        saxesHandlers(p, {
          openTagHandler: (n: any) => {
            const attrs: Record<string, string> = {};
            for (const k in n.attributes) attrs[k] = n.attributes[k].value;
            t.open(n.local, attrs);
          },
          closeTagHandler: () => t.close(),
          textHandler: (s: string) => t.text(s),
          errorHandler: (e: Error) => sink.error(e),
          doctypeHandler: () => sink.event('doctype'),
          commentHandler: () => sink.event('comment'),
          piHandler: () => sink.event('pi'),
        });
        return { write: (b) => p.write(d.write(b)) };
      };
    },
    'ltx': async () => {
      const Ltx = (await load('ltx/src/parsers/ltx.js')).default;
      return (sink) => {
        const t = new TreeBuilder(sink);
        const d = new StringDecoder('utf8');
        const p = new Ltx();
        p.on('startElement', (n: string, a: Record<string, string>) => t.open(n, a));
        p.on('endElement', () => t.close());
        p.on('text', (s: string) => t.text(s));
        p.on('error', (e: Error) => sink.error(e));
        return { write: (b) => p.write(d.write(b)) };
      };
    },
    'ltx-saxes': async () => {
      const LtxSaxes = (await load('ltx/src/parsers/saxes.js')).default;
      return (sink) => {
        const t = new TreeBuilder(sink);
        const d = new StringDecoder('utf8');
        const p = new LtxSaxes();
        p.on('startElement', (n: string, a: Record<string, string>) => t.open(n, a));
        p.on('endElement', () => t.close());
        p.on('text', (s: string) => t.text(s));
        p.on('error', (e: Error) => sink.error(e));
        return { write: (b) => p.write(d.write(b)) };
      };
    },
    '@xmpp/xml': async () => {
      const Parser = (await load('@xmpp/xml')).Parser;
      return (sink) => {
        const d = new StringDecoder('utf8');
        const p = new Parser();
        // @xmpp/xml builds its own ltx Elements; count those instead of converting.
        p.on('element', (e: any) => sink.stanza(e));
        p.on('error', (e: Error) => sink.error(e));
        return { write: (b) => p.write(d.write(b)) };
      };
    },
    'htmlparser2': async () => {
      const { Parser } = await load('htmlparser2');
      return (sink) => {
        const t = new TreeBuilder(sink);
        const d = new StringDecoder('utf8');
        let seenRoot = false;
        const p = new Parser(
          {
            onopentag: (n: string, a: Record<string, string>) => {
              seenRoot = true;
              t.open(n, a);
            },
            onclosetag: () => t.close(),
            ontext: (s: string) => t.text(s),
            onerror: (e: Error) => sink.error(e),
            oncomment: () => sink.event('comment'),
            onprocessinginstruction: (n: string, data: string) => {
              if (n.toLowerCase() === '!doctype') sink.event('doctype');
              else if (!(n === '?xml' && data.startsWith('?xml version') && !seenRoot)) sink.event('pi'); // the XML declaration
            },
          },
          { xmlMode: true, decodeEntities: true },
        );
        return { write: (b) => p.write(d.write(b)) };
      };
    },
    'sax': async () => {
      const sax = (await load('sax')).default;
      return (sink) => {
        const t = new TreeBuilder(sink);
        const d = new StringDecoder('utf8');
        const p = sax.parser(true, { xmlns: false, position: false });
        p.onopentag = (n: any) => t.open(n.name, n.attributes);
        p.onclosetag = () => t.close();
        p.ontext = (s: string) => t.text(s);
        p.onerror = (e: Error) => {
          sink.error(e);
          p.error = null; // sax requires clearing the error to continue
        };
        p.ondoctype = () => sink.event('doctype');
        p.oncomment = () => sink.event('comment');
        let seenRoot = false;
        p.onopentagstart = () => (seenRoot = true);
        p.onprocessinginstruction = (pi: { name: string }) => {
          if (pi.name !== 'xml' || seenRoot) sink.event('pi'); // sax reports the XML declaration as a PI
        };
        return { write: (b) => p.write(d.write(b)) };
      };
    },
  };
}

// ---------------------------------------------------------------- measurements

function gcFn(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function countTree(e: any): number {
  let n = 1;
  for (const c of e.children ?? []) if (typeof c !== 'string') n += countTree(c);
  return n;
}

function throughput(make: Factory, chunks: Buffer[], bytes: number, expected: number): { stanzasPerSec: number; mbPerSec: number; ok: string } {
  let best = Infinity;
  let ok = 'ok';
  for (let run = 0; run < 4; run++) {
    let stanzas = 0;
    let elements = 0;
    let errors = 0;
    const inst = make({
      stanza: (e) => {
        stanzas++;
        if (run === 0) elements += countTree(e);
      },
      error: () => errors++,
      event: () => {},
    });
    const t0 = process.hrtime.bigint();
    for (const c of chunks) inst.write(c);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (run > 0) best = Math.min(best, ms); // run 0 is the warm-up (and the correctness check)
    if (run === 0 && (stanzas !== expected || errors)) ok = `got ${stanzas}/${expected} stanzas, ${errors} errors`;
    if (run === 0) ok += ` (${elements} elements)`;
  }
  return { stanzasPerSec: (expected / best) * 1000, mbPerSec: bytes / 1e6 / (best / 1000), ok };
}

function idleMemory(make: Factory, n: number): number {
  const gc = gcFn();
  const warm = Buffer.from(
    HEADER +
      `<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://example.org' ver='x'/></presence>` +
      `<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>` +
      `<message to='a@b' id='x'><body>${'hello world '.repeat(80)}</body></message>`,
  );
  const sink: Sink = { stanza() {}, error() {}, event() {} };
  const keep: Instance[] = [];
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) {
    const inst = make(sink);
    // Each connection gets its own copy of the bytes, as sockets do.
    inst.write(Buffer.from(warm));
    keep.push(inst);
  }
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (keep.length !== n) throw new Error('unreachable');
  return (after - before) / n;
}

const PLAIN_HEADER = `<stream:stream xmlns='jabber:client' xmlns:stream='${NS_STREAM}' to='example.com' version='1.0'>`;
const STRICT_CASES: [string, string][] = [
  // The first two must NOT be reported: they show a candidate has no false positives.
  ['(valid stream)', `${PLAIN_HEADER}<message><body>a &amp; b</body><x:y xmlns:x='urn:x'/></message>`],
  ['(<?xml?> first)', `<?xml version='1.0'?>${PLAIN_HEADER}<message/>`],
  ['DOCTYPE', `<!DOCTYPE stream:stream>${PLAIN_HEADER}`],
  ['entity decl', `<!DOCTYPE x [<!ENTITY foo 'bar'>]>${PLAIN_HEADER}<message>&foo;</message>`],
  ['comment', `${PLAIN_HEADER}<!-- hi --><message/>`],
  ['PI', `${PLAIN_HEADER}<?foo bar?><message/>`],
  ['late <?xml?>', `${PLAIN_HEADER}<?xml version='1.0'?><message/>`],
  ['&foo; undefined', `${PLAIN_HEADER}<message><body>&foo;</body></message>`],
  ['bad char ref', `${PLAIN_HEADER}<message><body>&#0;</body></message>`],
  ['mismatched tag', `${PLAIN_HEADER}<message><body></message></body>`],
  ['invalid char', `${PLAIN_HEADER}<message><body>\u0001</body></message>`],
  ['unbound prefix', `${PLAIN_HEADER}<message><x:y/></message>`],
  ['dup attribute', `${PLAIN_HEADER}<message id='1' id='2'/>`],
  ['unquoted attr', `${PLAIN_HEADER}<message id=1/>`],
  ['bare &', `${PLAIN_HEADER}<message><body>a & b</body></message><presence/>`],
  ['< in attr', `${PLAIN_HEADER}<message id='<'/>`],
];

function strictness(make: Factory): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, xml] of STRICT_CASES) {
    let res = 'no';
    const inst = make({
      stanza() {},
      error: () => {
        res = 'error';
      },
      event: (k) => {
        if (res === 'no') res = `event:${k}`;
      },
    });
    try {
      inst.write(Buffer.from(xml));
    } catch {
      res = 'throws';
    }
    out[name] = res;
  }
  return out;
}

// ---------------------------------------------------------------- driver

interface Result {
  name: string;
  stanzasPerSec?: number;
  mbPerSec?: number;
  ok?: string;
  bytesPerInstance?: number;
  strict?: Record<string, string>;
  skipped?: string;
}

async function child(name: string): Promise<Result> {
  const all = await candidates();
  const loader = all[name];
  if (!loader) return { name, skipped: 'unknown' };
  let make: Factory;
  try {
    make = await loader();
  } catch (e) {
    return { name, skipped: `not installed (${(e as Error).message.split('\n')[0]})` };
  }
  const stanzas = Number(process.env['STANZAS'] ?? 100_000);
  const { data } = makeStream(stanzas);
  const { chunks } = chunk(data);
  const tp = throughput(make, chunks, data.length, stanzas);
  const mem = idleMemory(make, Number(process.env['INSTANCES'] ?? 10_000));
  return { name, ...tp, bytesPerInstance: mem, strict: strictness(make) };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    const res = await child(process.argv[3] ?? '');
    process.send?.(res);
    return;
  }
  const names = process.argv.slice(2);
  const list = names.length ? names : Object.keys(await candidates());
  const stanzas = Number(process.env['STANZAS'] ?? 100_000);
  const { data, rosterItems } = makeStream(stanzas);
  const { chunks, splitChars } = chunk(data);
  console.log(
    `input: ${stanzas} stanzas (${rosterItems / 100} roster results of 100 items), ${(data.length / 1e6).toFixed(1)} MB, ` +
      `${chunks.length} chunks, ${splitChars} multi-byte characters split across chunks; node ${process.version}`,
  );
  const results: Result[] = [];
  for (const name of list) {
    const res = await new Promise<Result>((resolve, reject) => {
      const cp = fork(fileURLToPath(import.meta.url), ['--child', name], { stdio: 'inherit' });
      let got: Result | undefined;
      cp.on('message', (m) => (got = m as Result));
      cp.on('exit', (code) => (got ? resolve(got) : reject(new Error(`${name}: child exited ${code}`))));
    });
    results.push(res);
    if (res.skipped) {
      console.log(`${name}: skipped, ${res.skipped}`);
      continue;
    }
    console.log(
      `${name.padEnd(12)} ${Math.round(res.stanzasPerSec ?? 0).toString().padStart(8)} stanzas/s ` +
        `${(res.mbPerSec ?? 0).toFixed(1).padStart(6)} MB/s ${Math.round(res.bytesPerInstance ?? 0).toString().padStart(6)} B/instance idle  ${res.ok}`,
    );
  }
  const cases = STRICT_CASES.map((c) => c[0]);
  const shown = results.filter((r) => !r.skipped);
  console.log('\nstrictness (error = reported as an error, event:x = reported as an event a wrapper can reject, no = silently accepted)');
  console.log(['case'.padEnd(16), ...shown.map((r) => r.name.padEnd(12))].join(' '));
  for (const c of cases) console.log([c.padEnd(16), ...shown.map((r) => (r.strict?.[c] ?? '').padEnd(12))].join(' '));
}

await main();
