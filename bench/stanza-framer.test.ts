// RFC 6120 §4: the bench's stream framer cuts top-level elements at any chunk boundary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StanzaFramer, attr, childText, elementName } from './stanza-framer.ts';

const STREAM =
  `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x' version='1.0'>` +
  `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>` +
  `<message from='a@b/c' id="m1" type='chat'><body>x &gt; y &amp; "q"</body></message>` +
  `<presence from='a@b/c' note='1>0'/>  ` +
  `<iq type='result' id='q1'><query xmlns='jabber:iq:roster'><item jid='u1@b'/><item jid='u2@b'><group>G</group></item></query></iq>` +
  `</stream:stream>`;

function run(chunkSize: number): { opens: number; elements: string[]; closed: boolean } {
  const out = { opens: 0, elements: [] as string[], closed: false };
  const f = new StanzaFramer({
    onOpen: () => out.opens++,
    onElement: (x) => out.elements.push(x),
    onClose: () => (out.closed = true),
  });
  for (let i = 0; i < STREAM.length; i += chunkSize) f.push(STREAM.slice(i, i + chunkSize));
  return out;
}

test('elements come out whole, whatever the chunking', () => {
  const whole = run(STREAM.length);
  assert.equal(whole.opens, 1);
  assert.equal(whole.closed, true);
  assert.deepEqual(whole.elements.map(elementName), ['stream:features', 'message', 'presence', 'iq']);
  for (const size of [1, 2, 3, 7, 13, 64]) assert.deepEqual(run(size), whole, `chunks of ${size}`);
});

test('attributes and child text', () => {
  const { elements } = run(STREAM.length);
  const [features, message, presence, iq] = elements as [string, string, string, string];
  assert.equal(attr(message, 'id'), 'm1');
  assert.equal(attr(message, 'type'), 'chat');
  assert.equal(attr(message, 'to'), undefined);
  assert.equal(childText(message, 'body'), 'x > y & "q"');
  assert.equal(attr(presence, 'note'), '1>0');
  assert.equal(childText(features, 'mechanism'), 'SCRAM-SHA-1');
  assert.equal((iq.match(/<item[\s/>]/g) ?? []).length, 2);
});

test('reset() from a handler starts a new stream', () => {
  const seen: string[] = [];
  const f: StanzaFramer = new StanzaFramer({
    onOpen: () => seen.push('open'),
    onElement: (x) => {
      seen.push(elementName(x));
      if (elementName(x) === 'proceed') f.reset();
    },
    onClose: () => seen.push('close'),
  });
  f.push(`<stream:stream xmlns='jabber:client'><proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><junk`);
  f.push(`<stream:stream xmlns='jabber:client'><stream:features/>`);
  assert.deepEqual(seen, ['open', 'proceed', 'open', 'stream:features']);
});
