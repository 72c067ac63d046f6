// Tests for the PRECIS framework (RFC 8264), the RFC 8265 profiles and password preparation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkFreeformClass,
  checkIdentifierClass,
  derivedProperty,
  enforceOpaqueString,
  enforceUsernameCaseMapped,
  PrecisError,
  satisfiesBidiRule,
  widthMap,
} from './precis.ts';
import { preparePassword } from './saslprep.ts';

void describe('derivedProperty (RFC 8264 §8)', () => {
  void it('follows the normative order of the rules', () => {
    assert.equal(derivedProperty(0x61), 'PVALID'); // ASCII7
    assert.equal(derivedProperty(0x21), 'PVALID');
    assert.equal(derivedProperty(0x20), 'ID_DIS_OR_FREE_PVAL'); // Spaces
    assert.equal(derivedProperty(0x00), 'DISALLOWED'); // Controls
    assert.equal(derivedProperty(0x7f), 'DISALLOWED');
    assert.equal(derivedProperty(0x00df), 'PVALID'); // Exceptions: ß
    assert.equal(derivedProperty(0x03c2), 'PVALID'); // Exceptions: ς
    assert.equal(derivedProperty(0x0640), 'DISALLOWED'); // Exceptions: ARABIC TATWEEL
    assert.equal(derivedProperty(0x00b7), 'CONTEXTO');
    assert.equal(derivedProperty(0x200d), 'CONTEXTJ');
    assert.equal(derivedProperty(0x0378), 'UNASSIGNED');
    assert.equal(derivedProperty(0xfdd0), 'DISALLOWED'); // noncharacter: ignorable, not unassigned
    assert.equal(derivedProperty(0x1100), 'DISALLOWED'); // old Hangul jamo
    assert.equal(derivedProperty(0x00ad), 'DISALLOWED'); // default ignorable (soft hyphen)
    assert.equal(derivedProperty(0x2163), 'ID_DIS_OR_FREE_PVAL'); // HasCompat (ROMAN NUMERAL FOUR)
    assert.equal(derivedProperty(0x00e9), 'PVALID'); // LetterDigits
    assert.equal(derivedProperty(0x0301), 'PVALID'); // Mn
    assert.equal(derivedProperty(0x265a), 'ID_DIS_OR_FREE_PVAL'); // Symbols
    assert.equal(derivedProperty(0x00ab), 'ID_DIS_OR_FREE_PVAL'); // Punctuation
    assert.equal(derivedProperty(0xe000), 'DISALLOWED'); // private use
    assert.equal(derivedProperty(0x2028), 'DISALLOWED'); // LINE SEPARATOR
  });
});

void describe('string classes', () => {
  void it('IdentifierClass disallows spaces and symbols, FreeformClass allows them', () => {
    assert.throws(() => checkIdentifierClass('a b'), PrecisError);
    assert.throws(() => checkIdentifierClass('♚'), PrecisError);
    checkFreeformClass('a b ♚');
    checkIdentifierClass('juliet');
    assert.throws(() => checkFreeformClass('a\u0001'), PrecisError);
  });

  void it('width mapping only touches <wide>/<narrow> code points', () => {
    assert.equal(widthMap('ＡＢ\u3000ｶ'), 'AB \u30ab');
    assert.equal(widthMap('ⅣＡ'), 'ⅣA');
  });
});

void describe('Bidi Rule (RFC 5893 §2)', () => {
  void it('accepts consistent labels and rejects mixed ones', () => {
    assert.ok(satisfiesBidiRule('abc'));
    assert.ok(satisfiesBidiRule('שלום'));
    assert.ok(satisfiesBidiRule('שלום1'));
    assert.ok(!satisfiesBidiRule('1שלום'));
    assert.ok(!satisfiesBidiRule('שלוםa'));
    assert.ok(satisfiesBidiRule('\u0627\u0661\u0627'));
    assert.ok(!satisfiesBidiRule('\u0627\u0661\u06f1\u0627')); // AN and EN together (rule 4)
    assert.ok(!satisfiesBidiRule('\u0661\u0627')); // starts with AN (rule 1)
  });
});

void describe('UsernameCaseMapped (RFC 8265 §3.3)', () => {
  void it('maps width and case, normalizes, and is idempotent', () => {
    for (const [input, expected] of [['ＪｕＬｉＥｔ', 'juliet'], ['Σ', 'σ'], ['İ', 'i\u0307'], ['A\u030a', '\u00e5']]) {
      const out = enforceUsernameCaseMapped(input ?? '');
      assert.equal(out, expected);
      assert.equal(enforceUsernameCaseMapped(out), out);
    }
  });

  void it('rejects empty strings', () => {
    assert.throws(() => enforceUsernameCaseMapped(''), PrecisError);
  });
});

void describe('OpaqueString (RFC 8265 §4.2)', () => {
  void it('keeps case and width, maps spaces, normalizes', () => {
    assert.equal(enforceOpaqueString('Ｐa\u2003S'), 'Ｐa S');
    assert.throws(() => enforceOpaqueString(''), PrecisError);
  });
});

void describe('preparePassword', () => {
  void it('passes printable ASCII through unchanged', () => {
    assert.equal(preparePassword('correct horse battery staple!'), 'correct horse battery staple!');
    assert.equal(preparePassword(' '), ' ');
  });

  void it('NFC-normalizes a Unicode password', () => {
    assert.equal(preparePassword('Pa\u0301ssw\u00f6rd'), 'P\u00e1ssw\u00f6rd');
    assert.equal(preparePassword('\u0f0b\u00df\u03c2\u65e5\u672c'), '\u0f0b\u00df\u03c2\u65e5\u672c');
    assert.equal(preparePassword('ΣΑΣ'), 'ΣΑΣ'); // no case mapping
  });

  void it('maps non-ASCII spaces to ASCII space', () => {
    assert.equal(preparePassword('a\u00a0b\u2009c\u3000d'), 'a b c d');
  });

  void it('keeps compatibility characters (no NFKC, unlike SASLprep)', () => {
    assert.equal(preparePassword('\u2163\uff21'), '\u2163\uff21');
  });

  void it('rejects control characters, unassigned code points, lone surrogates and the empty string', () => {
    for (const p of ['a\u0000b', 'tab\there', 'new\nline', 'del\u007f', 'x\u0085', 'x\u0378', 'x\udc00', 'x\u{10ffff}', 'zw\u200bsp', '']) {
      assert.throws(() => preparePassword(p), PrecisError, JSON.stringify(p));
    }
  });

  void it('never puts the password in the error message', () => {
    try {
      preparePassword('s3cret\u0000');
      assert.fail('should throw');
    } catch (e) {
      assert.ok(e instanceof PrecisError);
      assert.ok(!e.message.includes('s3cret'));
    }
  });
});
