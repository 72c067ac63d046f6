// Tests for the RFC 6120 §4/§11 stream parser: chunking, restarts, restricted XML, limits, namespaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamError } from '../errors.ts';
import type { Element } from './element.ts';
import { StreamParser, NS_STREAM } from './parser.ts';

const HEADER = `<stream:stream xmlns='jabber:client' xmlns:stream='${NS_STREAM}' to='example.com' version='1.0'>`;

interface Log {
  events: string[];
  elements: Element[];
  errors: StreamError[];
  starts: { attrs: Record<string, string>; name: string }[];
  keepalives: number;
}

function make(opts: { maxStanzaSize?: number; maxDepth?: number; onElement?: (p: StreamParser, el: Element) => void } = {}): {
  p: StreamParser;
  log: Log;
} {
  const log: Log = { events: [], elements: [], errors: [], starts: [], keepalives: 0 };
  const p: StreamParser = new StreamParser(
    {
      streamStart(attrs, name) {
        log.events.push('start');
        log.starts.push({ attrs, name });
      },
      element(el) {
        log.events.push(`el:${el.name}`);
        log.elements.push(el);
        opts.onElement?.(p, el);
      },
      streamEnd() {
        log.events.push('end');
      },
      error(err) {
        log.events.push(`error:${err.condition}`);
        log.errors.push(err);
      },
      keepalive() {
        log.keepalives++;
      },
    },
    { maxStanzaSize: opts.maxStanzaSize ?? 65536, ...(opts.maxDepth !== undefined ? { maxDepth: opts.maxDepth } : {}) },
  );
  return { p, log };
}

function parse(xml: string | Buffer, opts: Parameters<typeof make>[0] = {}): Log {
  const { p, log } = make(opts);
  p.write(typeof xml === 'string' ? Buffer.from(xml) : xml);
  return log;
}

/** The condition of the single error reported, asserting nothing was reported after it. */
function errorOf(xml: string | Buffer, opts: Parameters<typeof make>[0] = {}): string | undefined {
  const log = parse(xml, opts);
  const i = log.events.findIndex((e) => e.startsWith('error:'));
  if (i !== -1) assert.equal(i, log.events.length - 1, `callbacks after the error: ${log.events.join(', ')}`);
  return log.errors[0]?.condition;
}

const SAMPLE =
  `<?xml version='1.0'?>${HEADER}` +
  `<message to='juliet@example.com' type='chat' id='a1' xml:lang='en'><body>Grüße 日本語 😀 &amp; &lt;3 &#233;&#x1F680;</body>` +
  `<active xmlns='http://jabber.org/protocol/chatstates'/></message> ` +
  `<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v&apos;é'/></presence>` +
  `<iq type='result' id='r'><query xmlns='jabber:iq:roster'><item jid='a@b' name='Zoë'><group>Ünïcode</group></item></query></iq>` +
  `</stream:stream>`;

test('parses a stream: header, stanzas, end', () => {
  const log = parse(SAMPLE);
  assert.deepEqual(log.events, ['start', 'el:message', 'el:presence', 'el:iq', 'end']);
  assert.equal(log.starts[0]!.name, 'stream:stream');
  assert.equal(log.starts[0]!.attrs['xmlns'], 'jabber:client');
  assert.equal(log.starts[0]!.attrs['xmlns:stream'], NS_STREAM);
  assert.equal(log.starts[0]!.attrs['to'], 'example.com');
  const [msg, pres, iq] = log.elements;
  // The stream's default namespace is not added to top-level stanzas; written xmlns attributes stay.
  assert.equal(msg!.attrs['xmlns'], undefined);
  assert.equal(msg!.attrs['xml:lang'], 'en');
  assert.equal(msg!.getChildText('body'), 'Grüße 日本語 😀 & <3 é🚀');
  assert.equal(msg!.getChild('active')!.attrs['xmlns'], 'http://jabber.org/protocol/chatstates');
  assert.equal(pres!.getChild('c')!.attrs['ver'], "v'é");
  assert.equal(iq!.getChild('query')!.getChild('item')!.getChildText('group'), 'Ünïcode');
});

test('a stanza split at every byte offset parses the same', () => {
  const bytes = Buffer.from(SAMPLE);
  const reference = parse(bytes).elements.map(String);
  assert.equal(reference.length, 3);
  for (let i = 1; i < bytes.length; i++) {
    const { p, log } = make();
    p.write(bytes.subarray(0, i));
    p.write(bytes.subarray(i));
    assert.deepEqual(log.errors, [], `split at ${i}`);
    assert.deepEqual(log.elements.map(String), reference, `split at ${i}`);
    assert.equal(log.events.at(-1), 'end');
  }
});

test('byte-at-a-time writes, splitting every multi-byte character', () => {
  const bytes = Buffer.from(SAMPLE);
  const { p, log } = make();
  for (let i = 0; i < bytes.length; i++) p.write(bytes.subarray(i, i + 1));
  assert.deepEqual(log.errors, []);
  assert.deepEqual(log.elements.map(String), parse(bytes).elements.map(String));
});

test('4-byte characters split across three chunks', () => {
  const emoji = Buffer.from('😀'); // f0 9f 98 80
  const { p, log } = make();
  p.write(Buffer.concat([Buffer.from(`${HEADER}<message><body>x`), emoji.subarray(0, 1)]));
  p.write(emoji.subarray(1, 3));
  p.write(Buffer.concat([emoji.subarray(3), Buffer.from('y</body></message>')]));
  assert.equal(log.elements[0]!.getChildText('body'), 'x😀y');
});

test('string chunks are accepted too', () => {
  const { p, log } = make();
  for (const part of [HEADER, '<message><body>é', '😀</body></mess', 'age>']) p.write(part);
  assert.equal(log.elements[0]!.getChildText('body'), 'é😀');
});

test('the XML declaration is accepted at the start, UTF-8 only', () => {
  assert.deepEqual(parse(`<?xml version='1.0' encoding='UTF-8'?>${HEADER}<message/>`).events, ['start', 'el:message']);
  assert.deepEqual(parse(`<?xml version="1.0"?>\n${HEADER}`).events, ['start']);
  assert.equal(errorOf(`<?xml version='1.0' encoding='ISO-8859-1'?>${HEADER}`), 'unsupported-encoding');
});

test('reset after STARTTLS: a new stream with its own XML declaration', () => {
  const { p, log } = make({
    onElement: (parser, el) => {
      if (el.name === 'starttls') parser.reset();
    },
  });
  p.write(`<?xml version='1.0'?>${HEADER}<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`);
  // (TLS handshake happens below the parser.)
  p.write(`<?xml version='1.0'?>${HEADER}<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>`);
  assert.deepEqual(log.events, ['start', 'el:starttls', 'start', 'el:auth']);
});

test('reset from a handler mid-chunk: the rest of the chunk starts the new stream', () => {
  // A client pipelining the restart (e.g. after SASL success) in the same packet.
  const { p, log } = make({
    onElement: (parser, el) => {
      if (el.name === 'auth') parser.reset();
    },
  });
  p.write(`${HEADER}<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/><?xml version='1.0'?>${HEADER}<iq type='set' id='b'/>`);
  assert.deepEqual(log.events, ['start', 'el:auth', 'start', 'el:iq']);
});

test('reset from outside a write drops the old stream state', () => {
  const { p, log } = make();
  p.write(`${HEADER}<message><body>half`);
  p.reset();
  p.write(`${HEADER}<presence/>`);
  assert.deepEqual(log.events, ['start', 'start', 'el:presence']);
});

test('restricted XML (RFC 6120 §11.1) is a restricted-xml stream error', () => {
  const cases: Record<string, string> = {
    'DOCTYPE before the header': `<!DOCTYPE stream:stream>${HEADER}`,
    'DOCTYPE after the header': `${HEADER}<!DOCTYPE foo>`,
    'internal subset with an entity declaration': `<!DOCTYPE x [<!ENTITY foo 'bar'>]>${HEADER}<message>&foo;</message>`,
    'comment before the header': `<!-- hi -->${HEADER}`,
    'comment between stanzas': `${HEADER}<!-- hi --><message/>`,
    'comment inside a stanza': `${HEADER}<message><!-- hi --></message>`,
    'processing instruction before the header': `<?foo bar?>${HEADER}`,
    'processing instruction in a stanza': `${HEADER}<message><?foo bar?></message>`,
    'XML declaration after the header': `${HEADER}<?xml version='1.0'?><message/>`,
    'XML declaration in a stanza': `${HEADER}<message><?xml version='1.0'?></message>`,
    'XML declaration after whitespace': ` <?xml version='1.0'?>${HEADER}`,
    'undefined entity in text': `${HEADER}<message><body>&foo;</body></message>`,
    'undefined entity in an attribute': `${HEADER}<message id='&nbsp;'/>`,
  };
  for (const [name, xml] of Object.entries(cases)) assert.equal(errorOf(xml), 'restricted-xml', name);
});

test('malformed XML is a not-well-formed stream error', () => {
  const cases: Record<string, string | Buffer> = {
    'mismatched tags': `${HEADER}<message><body></message></body>`,
    'wrong close of the stream': `${HEADER}</stream:foo>`,
    'unquoted attribute': `${HEADER}<message id=1/>`,
    'duplicate attribute': `${HEADER}<message id='1' id='2'/>`,
    '< in an attribute value': `${HEADER}<message id='<'/>`,
    'control character': `${HEADER}<message><body>\u0001</body></message>`,
    'character reference to a non-character': `${HEADER}<message><body>&#0;</body></message>`,
    'bare & without a later ;': `${HEADER}<message><body>fish & chips</body></message>${'<presence/>'.repeat(10)}`,
    'bare & followed by a later ;': `${HEADER}<message><body>fish & chips</body></message><message><body>&amp;</body></message>`,
    'text before the header': `hello${HEADER}`,
    'wrong name closing the stream': `${HEADER}<message/></stream:foo>`,
    'two colons in a name': `${HEADER}<a:b:c xmlns:a='urn:a'/>`,
    'invalid UTF-8': Buffer.concat([Buffer.from(`${HEADER}<message><body>`), Buffer.from([0xff, 0xfe]), Buffer.from('</body></message>')]),
    'UTF-8 encoded surrogate': Buffer.concat([Buffer.from(`${HEADER}<message><body>`), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('</body></message>')]),
  };
  for (const [name, xml] of Object.entries(cases)) assert.equal(errorOf(xml), 'not-well-formed', name);
});

test('character data directly inside the stream is a bad-format error', () => {
  assert.equal(errorOf(`${HEADER}hello<message/>`), 'bad-format');
});

test('the stream element must be {http://etherx.jabber.org/streams}stream', () => {
  assert.equal(errorOf(`<stream:stream xmlns='jabber:client' xmlns:stream='urn:wrong'>`), 'invalid-namespace');
  assert.equal(errorOf(`<stream:strom xmlns='jabber:client' xmlns:stream='${NS_STREAM}'>`), 'invalid-namespace');
  assert.equal(errorOf(`<stream xmlns='jabber:client'>`), 'invalid-namespace');
  assert.equal(errorOf(`<stream:stream xmlns='jabber:client'>`), 'bad-namespace-prefix');
  // Unprefixed but in the right namespace is the same element.
  assert.deepEqual(parse(`<stream xmlns='${NS_STREAM}'>`).events, ['start']);
});

test('namespace prefixes are resolved to local names with xmlns', () => {
  const log = parse(
    `${HEADER}<message><x:foo xmlns:x='urn:a' xmlns='urn:b'><x:bar/><baz/><qux xmlns='urn:c'/></x:foo>` +
      `<y:e xmlns:y='urn:y'><f/></y:e></message>`,
  );
  assert.deepEqual(log.errors, []);
  const msg = log.elements[0]!;
  const foo = msg.getChild('foo')!;
  assert.equal(foo.attrs['xmlns'], 'urn:a');
  assert.equal(foo.getChild('bar')!.attrs['xmlns'], 'urn:a');
  // <baz/> is in the default namespace in scope (urn:b), not its parent's urn:a: made explicit.
  assert.equal(foo.getChild('baz')!.attrs['xmlns'], 'urn:b');
  assert.equal(foo.getChild('qux')!.attrs['xmlns'], 'urn:c');
  const e = msg.getChild('e')!;
  assert.equal(e.attrs['xmlns'], 'urn:y');
  assert.equal(e.getChild('f')!.attrs['xmlns'], 'jabber:client');
  assert.equal(msg.toString().includes('x:'), false);
});

test('prefixes declared on the stream header (server dialback)', () => {
  const log = parse(
    `<stream:stream xmlns='jabber:server' xmlns:stream='${NS_STREAM}' xmlns:db='jabber:server:dialback'>` +
      `<db:result from='a.example' to='b.example'>key</db:result><db:verify id='1'><x/></db:verify>`,
  );
  assert.deepEqual(log.errors, []);
  const [result, verify] = log.elements;
  assert.equal(result!.name, 'result');
  assert.equal(result!.attrs['xmlns'], 'jabber:server:dialback');
  assert.equal(result!.text(), 'key');
  assert.equal(verify!.getChild('x')!.attrs['xmlns'], 'jabber:server');
});

test('top-level stream-namespace elements keep the stream: name', () => {
  const log = parse(
    `${HEADER}<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>` +
      `<features xmlns='${NS_STREAM}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><x/></features>` +
      `<stream:features><y/></stream:features>`,
  );
  assert.deepEqual(log.errors, []);
  const [err, features, features2] = log.elements;
  assert.equal(err!.name, 'stream:error');
  assert.equal(err!.attrs['xmlns'], undefined);
  assert.equal(err!.getChild('conflict')!.attrs['xmlns'], 'urn:ietf:params:xml:ns:xmpp-streams');
  assert.equal(features!.name, 'stream:features');
  assert.equal(features!.attrs['xmlns'], undefined);
  // Unprefixed children take the default namespace in scope: the streams one here...
  assert.equal(features!.getChild('x')!.attrs['xmlns'], NS_STREAM);
  // ...and the stream's content namespace under a prefixed stream:features.
  assert.equal(features2!.name, 'stream:features');
  assert.equal(features2!.getChild('y')!.attrs['xmlns'], 'jabber:client');
});

test('prefixed attributes: xml: stays, others must be bound and carry their declaration', () => {
  const log = parse(`${HEADER}<message xml:lang='de' xmlns:p='urn:p'><x p:a='1' xmlns='urn:x'/></message>`);
  assert.deepEqual(log.errors, []);
  const msg = log.elements[0]!;
  assert.equal(msg.attrs['xml:lang'], 'de');
  const x = msg.getChild('x')!;
  assert.equal(x.attrs['p:a'], '1');
  assert.equal(x.attrs['xmlns:p'], 'urn:p');
});

test('unbound or invalid prefixes are bad-namespace-prefix', () => {
  assert.equal(errorOf(`${HEADER}<message><x:y/></message>`), 'bad-namespace-prefix');
  assert.equal(errorOf(`${HEADER}<x:message/>`), 'bad-namespace-prefix');
  assert.equal(errorOf(`${HEADER}<message foo:bar='1'/>`), 'bad-namespace-prefix');
  assert.equal(errorOf(`${HEADER}<message xmlns:x=''/>`), 'bad-namespace-prefix');
  assert.equal(errorOf(`${HEADER}<message xmlns:xml='urn:other'/>`), 'bad-namespace-prefix');
  // A prefix bound inside one stanza is out of scope in the next.
  assert.equal(errorOf(`${HEADER}<message xmlns:x='urn:x'><x:a/></message><message><x:a/></message>`), 'bad-namespace-prefix');
});

test('entities and character references are decoded in text and attributes; CDATA is text', () => {
  const log = parse(
    `${HEADER}<message id='&amp;&lt;&gt;&quot;&apos;&#65;&#x42;'><body>&amp;&lt;&gt;&quot;&apos;&#233;&#x1F600;<![CDATA[<b>&amp;</b>]]>!</body></message>`,
  );
  const msg = log.elements[0]!;
  assert.equal(msg.attrs['id'], `&<>"'AB`);
  const body = msg.getChild('body')!;
  assert.deepEqual(body.children, [`&<>"'é😀<b>&amp;</b>!`]);
});

test('whitespace between stanzas is a keepalive, not content', () => {
  const { p, log } = make();
  p.write(HEADER);
  p.write(' ');
  p.write('\n');
  p.write('<message/>');
  p.write('  \t');
  p.write('<presence/>\n');
  p.write(' ');
  assert.deepEqual(log.events, ['start', 'el:message', 'el:presence']);
  assert.equal(log.keepalives, 4);
  // Whitespace inside a stanza is content.
  const log2 = parse(`${HEADER}<message><body> a </body> </message>`);
  assert.deepEqual(log2.elements[0]!.children.map(String), ['<body> a </body>', ' ']);
});

test('a 10 MB stanza is a policy-violation, detected while it streams in', () => {
  const max = 64 * 1024;
  const { p, log } = make({ maxStanzaSize: max });
  p.write(`${HEADER}<message><body>`);
  const chunk = Buffer.alloc(1400, 'a');
  let written = 0;
  while (log.errors.length === 0 && written < 10 * 1024 * 1024) {
    p.write(chunk);
    written += chunk.length;
  }
  assert.deepEqual(log.events, ['start', 'error:policy-violation']);
  // Stopped within one internal slice (16 KiB) plus one chunk of the limit.
  assert.ok(written <= max + 16 * 1024 + chunk.length, `${written} bytes accepted`);
  p.write(chunk); // ignored after the error
  assert.equal(log.events.length, 2);
});

test('a 10 MB write in one call is cut off at the limit, not buffered whole', () => {
  const max = 64 * 1024;
  for (const big of [
    Buffer.concat([Buffer.from(`${HEADER}<message><body>`), Buffer.alloc(10 * 1024 * 1024, 'é')]),
    Buffer.concat([Buffer.from(`${HEADER}<message id='`), Buffer.alloc(10 * 1024 * 1024, 'a')]),
    Buffer.concat([Buffer.from(`${HEADER}`), Buffer.alloc(10 * 1024 * 1024, 'a')]), // text between stanzas
    Buffer.concat([Buffer.from(`${HEADER}<!--`), Buffer.alloc(10 * 1024 * 1024, 'a')]),
    Buffer.concat([Buffer.from(`<stream:stream to='`), Buffer.alloc(10 * 1024 * 1024, 'a')]), // the header
  ]) {
    const log = parse(big, { maxStanzaSize: max });
    assert.deepEqual(
      log.errors.map((e) => e.condition),
      ['policy-violation'],
    );
  }
});

test('the size limit is exact, in UTF-8 bytes, and per top-level element', () => {
  const stanza = (n: number): string => `<message><body>${'é'.repeat(n)}</body></message>`;
  const size = Buffer.byteLength(stanza(100)); // 'é' is two bytes
  assert.deepEqual(parse(`${HEADER}${stanza(100)}`, { maxStanzaSize: size }).events, ['start', 'el:message']);
  assert.equal(errorOf(`${HEADER}${stanza(100)}`, { maxStanzaSize: size - 1 }), 'policy-violation');
  // Many stanzas, each under the limit, in one large chunk are fine.
  const many = parse(`${HEADER}${stanza(100).repeat(500)}`, { maxStanzaSize: size });
  assert.equal(many.elements.length, 500);
  assert.deepEqual(many.errors, []);
  // Across chunks too.
  const { p, log } = make({ maxStanzaSize: size - 1 });
  p.write(HEADER);
  const bytes = Buffer.from(stanza(100));
  p.write(bytes.subarray(0, 50));
  p.write(bytes.subarray(50));
  assert.deepEqual(log.events, ['start', 'error:policy-violation']);
});

test('megabytes of whitespace keepalives never hit the limit', () => {
  const { p, log } = make({ maxStanzaSize: 1000 });
  p.write(`${HEADER}<presence/>`);
  const ws = Buffer.alloc(4000, ' ');
  for (let i = 0; i < 500; i++) p.write(ws);
  p.write('<message/>');
  assert.deepEqual(log.events, ['start', 'el:presence', 'el:message']);
});

test('nesting deeper than maxDepth is a policy-violation', () => {
  assert.equal(errorOf(`${HEADER}${'<a>'.repeat(11)}`, { maxDepth: 10 }), 'policy-violation');
  assert.deepEqual(parse(`${HEADER}${'<a>'.repeat(10)}${'</a>'.repeat(10)}`, { maxDepth: 10 }).events, ['start', 'el:a']);
});

test('</stream:stream> ends the stream; nothing after it is parsed', () => {
  const { p, log } = make();
  p.write(`${HEADER}<message/></stream:stream><presence/>`);
  p.write('<iq/>');
  assert.deepEqual(log.events, ['start', 'el:message', 'end']);
});

test('no callbacks after an error or after end()', () => {
  const { p, log } = make();
  p.write(`${HEADER}<message></presence>`);
  p.write('<message/>');
  assert.deepEqual(log.events, ['start', 'error:not-well-formed']);
  const b = make();
  b.p.write(`${HEADER}<message>`);
  b.p.end();
  b.p.write('</message>');
  assert.deepEqual(b.log.events, ['start']);
});

test('a throwing handler closes the stream with internal-server-error', () => {
  const boom = new Error('boom');
  const log = parse(`${HEADER}<message/><presence/>`, {
    onElement: () => {
      throw boom;
    },
  });
  assert.deepEqual(log.events, ['start', 'el:message', 'error:internal-server-error']);
  assert.equal(log.errors[0]!.cause, boom);
});

test('writes from inside a handler are queued, not lost', () => {
  const { p, log } = make({
    onElement: (parser, el) => {
      if (el.name === 'message') parser.write('<presence/>');
    },
  });
  p.write(`${HEADER}<message/><iq/>`);
  assert.deepEqual(log.events, ['start', 'el:message', 'el:iq', 'el:presence']);
});

test('a complete stanza before an error in the same chunk is still delivered', () => {
  assert.deepEqual(parse(`${HEADER}<message/><!-- x -->`).events, ['start', 'el:message', 'error:restricted-xml']);
  assert.deepEqual(parse(`${HEADER}<message/><iq id='1' id='2'/>`).events, ['start', 'el:message', 'error:not-well-formed']);
  // ...but not one whose close tag turns out to be wrong.
  assert.deepEqual(parse(`${HEADER}<message></presence>`).events, ['start', 'error:not-well-formed']);
});

test('reset from the keepalive handler', () => {
  const log: string[] = [];
  const p: StreamParser = new StreamParser(
    {
      streamStart: () => log.push('start'),
      element: (el) => log.push(el.name),
      streamEnd: () => log.push('end'),
      error: (e) => log.push(e.condition),
      keepalive: () => {
        log.push('ka');
        p.reset();
      },
    },
    { maxStanzaSize: 1000 },
  );
  p.write(`${HEADER}<message/>`);
  p.write(' ');
  p.write(`${HEADER}<presence/>`);
  assert.deepEqual(log, ['start', 'message', 'ka', 'start', 'presence']);
});
