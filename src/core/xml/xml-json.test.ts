// Round trip of the JSON tree form used to store XML (vCards, private XML, offline messages).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Element, el } from './element.ts';
import { elementFromJson, elementToJson } from './xml-json.ts';

/** Through JSON text, as a store keeps it. */
function roundTrip(e: Element): Element {
  return elementFromJson(JSON.parse(JSON.stringify(elementToJson(e))));
}

describe('xml-json', () => {
  it('round-trips a stanza with namespaces, prefixed attributes, mixed text and entities', () => {
    const msg = el(
      'message',
      { from: 'a@x/r', to: 'b@x', type: 'chat', id: '1', 'xml:lang': 'en' },
      el('body', {}, 'Tom & Jerry <3 "quotes" \'apos\''),
      el('active', { xmlns: 'http://jabber.org/protocol/chatstates' }),
      el('x', { xmlns: 'jabber:x:data', 'xmlns:foo': 'urn:foo', 'foo:bar': 'baz' }, 'text ', el('b'), ' tail', ''),
    );
    const back = roundTrip(msg);
    assert.deepEqual(back, msg);
    assert.equal(back.toString(), msg.toString());
    assert.ok(back instanceof Element);
    assert.ok(back.getChild('x')?.getChild('b') instanceof Element);
  });

  it('keeps empty elements, whitespace and non-BMP text exactly', () => {
    const v = el('vCard', { xmlns: 'vcard-temp' }, '\n  ', el('FN', {}, 'Ünïcødé 🦊'), '\n', el('PHOTO', {}, el('BINVAL', {}, 'A'.repeat(5000))));
    assert.deepEqual(roundTrip(v), v);
    assert.deepEqual(roundTrip(new Element('x')), new Element('x'));
  });

  it('drops attributes whose value is undefined, as serialization does', () => {
    const e = new Element('a', { b: 'c' });
    (e.attrs as Record<string, string | undefined>)['d'] = undefined;
    assert.deepEqual(elementToJson(e).attrs, { b: 'c' });
  });

  it('rejects values that are not stored trees', () => {
    for (const bad of [null, 'x', 3, [], {}, { name: '', attrs: {}, children: [] }, { name: 'a', attrs: { b: 1 }, children: [] }, { name: 'a', attrs: {}, children: [7] }, { name: 'a', children: [] }]) {
      assert.throws(() => elementFromJson(bad), TypeError, JSON.stringify(bad));
    }
  });

  it('refuses absurdly deep trees instead of overflowing the stack', () => {
    let deep: unknown = { name: 'leaf', attrs: {}, children: [] };
    for (let i = 0; i < 2000; i++) deep = { name: 'n', attrs: {}, children: [deep] };
    assert.throws(() => elementFromJson(deep), /too deep/);
  });
});
