// Tests for RFC 7622 JID parsing and preparation (§3.1-§3.5).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Jid, JidError, parseJid, prepDomainpart, prepLocalpart, prepResourcepart, tryParseJid } from './jid.ts';

function str(s: string): string {
  return parseJid(s).toString();
}

void describe('parseJid: RFC 7622 §3.5 examples', () => {
  void it('accepts the valid examples (§3.5.1)', () => {
    const valid: [string, string][] = [
      ['juliet@example.com', 'juliet@example.com'],
      ['juliet@example.com/foo', 'juliet@example.com/foo'],
      ['juliet@example.com/foo bar', 'juliet@example.com/foo bar'],
      ['juliet@example.com/foo@bar', 'juliet@example.com/foo@bar'],
      ['foo\\20bar@example.com', 'foo\\20bar@example.com'],
      ['fussball@example.com', 'fussball@example.com'],
      ['fußball@example.com', 'fußball@example.com'],
      ['π@example.com', 'π@example.com'],
      ['Σ@example.com/foo', 'σ@example.com/foo'],
      ['σ@example.com/foo', 'σ@example.com/foo'],
      ['ς@example.com/foo', 'ς@example.com/foo'],
      ['king@example.com/♚', 'king@example.com/♚'],
      ['example.com', 'example.com'],
      ['example.com/foobar', 'example.com/foobar'],
      ['a.example.com/b@example.net', 'a.example.com/b@example.net'],
    ];
    for (const [input, expected] of valid) assert.equal(str(input), expected, input);
  });

  void it('rejects the invalid examples (§3.5.2)', () => {
    const invalid = [
      '"juliet"@example.com',
      'foo bar@example.com',
      'juliet@example.com/',
      '@example.com/',
      'henryⅣ@example.com',
      '♚@example.com',
      'juliet@',
      '/foobar',
    ];
    for (const input of invalid) assert.throws(() => parseJid(input), JidError, input);
  });
});

void describe('parseJid: structure', () => {
  void it('splits the parts', () => {
    const j = parseJid('romeo@montague.example/orchard');
    assert.equal(j.local, 'romeo');
    assert.equal(j.domain, 'montague.example');
    assert.equal(j.resource, 'orchard');
    assert.equal(j.isBare, false);
    assert.equal(j.bareString, 'romeo@montague.example');
    assert.equal(j.bare().toString(), 'romeo@montague.example');
    assert.equal(j.bare().isBare, true);
  });

  void it('splits the resource at the first slash and the localpart at the first @ (§3.1)', () => {
    const j = parseJid('a@b.example/c/d@e');
    assert.equal(j.local, 'a');
    assert.equal(j.domain, 'b.example');
    assert.equal(j.resource, 'c/d@e');
    assert.throws(() => parseJid('a@b@c.example'), JidError);
  });

  void it('rejects empty parts when their separators are present', () => {
    for (const s of ['', '@', '/', '@/', 'a@', '@b.example', 'b.example/', 'a@b.example/', 'a@/r', '.']) {
      assert.throws(() => parseJid(s), JidError, JSON.stringify(s));
    }
  });

  void it('excludes the §3.3.1 characters from the localpart', () => {
    for (const c of ['"', '&', "'", ':', '<', '>']) {
      assert.throws(() => parseJid(`a${c}b@example.com`), JidError, c);
    }
    assert.throws(() => prepLocalpart('a/b'), JidError);
    assert.throws(() => prepLocalpart('a@b'), JidError);
    // Fullwidth forms are width-mapped before the check.
    assert.throws(() => prepLocalpart('a\uff06b'), JidError);
  });

  void it('equals compares prepared forms', () => {
    assert.ok(parseJid('Juliet@Example.COM/Balcony').equals(parseJid('juliet@example.com/Balcony')));
    assert.ok(!parseJid('juliet@example.com/Balcony').equals(parseJid('juliet@example.com/balcony')));
    assert.ok(!parseJid('juliet@example.com').equals(undefined));
  });

  void it('tryParseJid returns undefined instead of throwing', () => {
    assert.equal(tryParseJid(undefined), undefined);
    assert.equal(tryParseJid('juliet@'), undefined);
    assert.equal(tryParseJid('juliet@example.com')?.toString(), 'juliet@example.com');
  });

  void it('withResource prepares the resource, and "" gives the bare JID', () => {
    const j = parseJid('juliet@example.com');
    assert.equal(j.withResource('Balcony\u00a0Two').toString(), 'juliet@example.com/Balcony Two');
    assert.equal(j.withResource('e\u0301').resource, '\u00e9');
    assert.equal(parseJid('juliet@example.com/x').withResource('').toString(), 'juliet@example.com');
    assert.throws(() => j.withResource('a\u0000b'), JidError);
  });

  void it('the constructor keeps trusted parts as given', () => {
    assert.equal(new Jid('', 'example.com', '').toString(), 'example.com');
    assert.equal(new Jid('u', 'example.com', 'r').toString(), 'u@example.com/r');
  });
});

void describe('localpart (UsernameCaseMapped)', () => {
  void it('maps case to lowercase', () => {
    assert.equal(str('JULIET@example.com'), 'juliet@example.com');
    assert.equal(str('ÖDÖN@example.com'), 'ödön@example.com');
    assert.equal(prepLocalpart('ΠΑΝΟΣ'), 'πανοσ');
  });

  void it('maps capital sigma to σ wherever it is, keeps final sigma ς as given', () => {
    assert.equal(prepLocalpart('Σ'), 'σ');
    assert.equal(prepLocalpart('ΟΔΟΣ'), 'οδοσ');
    assert.equal(prepLocalpart('οδος'), 'οδος');
    assert.notEqual(prepLocalpart('οδος'), prepLocalpart('οδοσ'));
  });

  void it('width-maps fullwidth and halfwidth forms', () => {
    assert.equal(prepLocalpart('ＪＵＬＩＥＴ'), 'juliet');
    assert.equal(prepLocalpart('\uff76'), '\u30ab'); // HALFWIDTH KATAKANA KA
  });

  void it('normalizes to NFC', () => {
    assert.equal(prepLocalpart('e\u0301'), '\u00e9');
    assert.equal(prepLocalpart('E\u0301'), '\u00e9');
  });

  void it('rejects spaces, symbols, compatibility characters, controls and unassigned code points', () => {
    for (const s of ['a b', 'a\u00a0b', '♚', 'henryⅣ', '\u00bd', 'a\u0007', 'a\u00ad', '\u1100', 'a\u{e0001}', 'a\u0378', 'a\ufdd0', 'a\ue000', '\ud800']) {
      assert.throws(() => prepLocalpart(s), JidError, JSON.stringify(s));
    }
  });

  void it('applies the contextual rules', () => {
    assert.equal(prepLocalpart('l·l'), 'l·l'); // MIDDLE DOT between two l
    assert.throws(() => prepLocalpart('a·b'), JidError);
    assert.equal(prepLocalpart('\u0915\u094d\u200d\u0937'), '\u0915\u094d\u200d\u0937'); // ZWJ after a virama
    assert.throws(() => prepLocalpart('a\u200db'), JidError);
    assert.throws(() => prepLocalpart('\u0661\u06f1'), JidError); // mixed Arabic-Indic digit sets
  });

  void it('applies the Bidi Rule to right-to-left localparts', () => {
    assert.equal(prepLocalpart('שלום'), 'שלום');
    assert.equal(prepLocalpart('سلام'), 'سلام');
    assert.throws(() => prepLocalpart('שלוםa'), JidError); // mixes R and L
    assert.throws(() => prepLocalpart('aשלום'), JidError);
  });

  void it('has an ASCII fast path that still lowercases', () => {
    assert.equal(prepLocalpart('Ab.C-d_E'), 'ab.c-d_e');
    assert.equal(str('Ab@example.com'), 'ab@example.com');
  });
});

void describe('domainpart', () => {
  void it('lowercases and strips one trailing dot', () => {
    assert.equal(str('juliet@EXAMPLE.Com'), 'juliet@example.com');
    assert.equal(str('juliet@example.com.'), 'juliet@example.com');
    assert.equal(str('example.com./r'), 'example.com/r');
    assert.throws(() => parseJid('juliet@example.com..'), JidError);
    assert.throws(() => parseJid('juliet@.'), JidError);
  });

  void it('accepts internationalized domain names and stores the Unicode form', () => {
    assert.equal(prepDomainpart('BÜCHER.example'), 'bücher.example');
    assert.equal(prepDomainpart('xn--bcher-kva.example'), 'bücher.example');
    assert.equal(prepDomainpart('xn--fuball-cta.example'), 'fußball.example');
    assert.equal(prepDomainpart('例え。テスト'), '例え.テスト'); // ideographic full stop is a label separator
    assert.equal(prepDomainpart('ＥＸＡＭＰＬＥ.com'), 'example.com');
    assert.ok(parseJid('a@xn--bcher-kva.example').equals(parseJid('a@Bücher.example')));
  });

  void it('rejects invalid domain names', () => {
    for (const d of ['♚.example', 'ex_ample.com', '-a.example', 'a-.example', 'ab--c.example', 'a..b', 'xn--zz.example',
      'exa mple.com', '%41.example', 'a\u0000.example', `${'a'.repeat(64)}.example`, 'example.123', '127.1', '0x7f.0.0.1']) {
      assert.throws(() => prepDomainpart(d), JidError, JSON.stringify(d));
    }
  });

  void it('accepts IP literals', () => {
    assert.equal(prepDomainpart('127.0.0.1'), '127.0.0.1');
    assert.equal(prepDomainpart('[::1]'), '[::1]');
    assert.equal(prepDomainpart('[2001:DB8:0:0:0:0:0:1]'), '[2001:db8::1]');
    assert.equal(str('user@[::1]/r'), 'user@[::1]/r');
    for (const d of ['[::1', '[zz::1]', '[fe80::1%eth0]', '[1.2.3.4]', '256.1.1.1']) {
      assert.throws(() => prepDomainpart(d), JidError, d);
    }
  });
});

void describe('resourcepart (OpaqueString)', () => {
  void it('preserves case and spaces', () => {
    assert.equal(parseJid('juliet@example.com/Balcony Scene').resource, 'Balcony Scene');
    assert.equal(prepResourcepart('ΟΔΟΣ'), 'ΟΔΟΣ');
    assert.equal(prepResourcepart('Ｗide'), 'Ｗide'); // no width mapping
  });

  void it('maps non-ASCII spaces to U+0020 and normalizes to NFC', () => {
    assert.equal(prepResourcepart('a\u00a0b\u3000c'), 'a b c');
    assert.equal(prepResourcepart('e\u0301'), '\u00e9');
  });

  void it('allows symbols and punctuation, rejects controls and unassigned code points', () => {
    assert.equal(prepResourcepart('♚ «x» ½'), '♚ «x» ½');
    for (const s of ['a\u0000', 'a\nb', 'a\u0378', 'a\u200b', '\udc00']) {
      assert.throws(() => prepResourcepart(s), JidError, JSON.stringify(s));
    }
  });
});

void describe('lengths (§3.1: 1..1023 octets per part)', () => {
  void it('accepts 1023 octets and rejects 1024', () => {
    const ok = 'a'.repeat(1023);
    assert.equal(parseJid(`${ok}@example.com/${ok}`).local.length, 1023);
    assert.throws(() => parseJid(`${ok}a@example.com`), JidError);
    assert.throws(() => parseJid(`example.com/${ok}a`), JidError);
    assert.throws(() => prepLocalpart('A'.repeat(1024)), JidError);
  });

  void it('counts UTF-8 octets, not characters', () => {
    assert.equal(prepResourcepart('é'.repeat(511)).length, 511); // 1022 octets
    assert.throws(() => prepResourcepart('é'.repeat(512)), JidError); // 1024 octets
    assert.throws(() => prepLocalpart('π'.repeat(512)), JidError);
  });

  void it('limits the domainpart', () => {
    const label = 'a'.repeat(63);
    const long = Array.from({ length: 16 }, () => label).join('.'); // 1023 octets
    assert.equal(prepDomainpart(long), long);
    assert.throws(() => prepDomainpart(`a${long}`), JidError);
  });

  void it('rejects huge input cheaply', () => {
    assert.throws(() => parseJid('x'.repeat(100_000)), JidError);
  });
});
