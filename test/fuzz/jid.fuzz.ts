// Fuzzing JID parsing and preparation (src/core/jid.ts, RFC 7622) and the PRECIS profiles under it.
//
// Properties: parseJid throws nothing but JidError (and tryParseJid nothing at all, agreeing with
// it); a parsed JID re-parses from its string to the same JID (preparation is idempotent); its parts
// are within the §3.1 limits; the fast path for plain ASCII gives what preparing each part gives.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JidError, type Jid, parseJid, prepDomainpart, prepLocalpart, prepResourcepart, tryParseJid } from '../../src/core/jid.ts';
import { fuzzTests, type FuzzTarget } from './lib/runner.ts';

/** Pieces valid in every part, in mapped and unmapped forms. */
const GOOD = [
  'a', 'z', 'A', 'Z', '0', '9', 'juliet', 'example', 'münchen', 'MÜNCHEN', 'ß', 'Σ', 'ς', 'σ', 'İ', 'ı', 'ﬀ', 'Ａ', 'ｂ',
  'é', 'e\u0301', 'ǅ', '名', 'π', 'ا', 'א', '١', '۳', '\u00b7', 'l\u00b7l', 'a'.repeat(63),
];
/** Pieces that exercise the other rules: separators, controls, Bidi, IDNA, width/case mapping, IP literals, limits. */
const BAD = [
  '.', '-', '_', '@', '/', '\\20', ' ', '%', '[', ']', ':', '?', '#', '&', "'", '"', '<', '>', 'xn--', 'xn--mnchen-3ya', 'xn--a',
  'ab--c', '\u3000', '\u200c', '\u200d', '\u0301', 'Ⅸ', '²', '♚', '😀', '\u00a0', '\u2028', '\u0000', '\u001f', '\u007f',
  '\u0085', '\ud800', '\udc00', '\uffff', '\u0378', '\ufeff', '\u0375', '\u05f3', '\u30fb', '\u0640', '127.0.0.1',
  '0x7f.1', '1.2.3', '256.1.1.1', '[::1]', '[::FFFF:1.2.3.4]', '[fe80::1%eth0]', '[v1.x]', '::1', '..', 'b'.repeat(64),
];

const piece = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...GOOD) },
  { weight: 4, arbitrary: fc.constantFrom(...BAD) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }) },
);
const part = fc.array(piece, { minLength: 1, maxLength: 5 }).map((a) => a.join(''));
/** Domain names: labels of valid pieces (sometimes one bad piece), optional trailing dot, or IP literals. */
const label = fc.array(fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...GOOD) }, { weight: 1, arbitrary: fc.constantFrom(...BAD) }), { minLength: 1, maxLength: 3 }).map((a) => a.join(''));
const domain = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.array(label, { minLength: 1, maxLength: 4 }), fc.boolean()).map(([ls, dot]) => ls.join('.') + (dot ? '.' : '')) },
  { weight: 1, arbitrary: fc.constantFrom('127.0.0.1', '[::1]', '[2001:DB8::0:1]', '[::ffff:1.2.3.4]', 'localhost', 'LOCALHOST.') },
  { weight: 2, arbitrary: part },
);

/** Parts right at the RFC 7622 §3.1 limit of 1023 octets (and the raw-length guard), in 1-4 byte characters. */
const longPart = fc
  .tuple(fc.constantFrom('a', 'é', '名', '😀', 'Ａ', 'A'), fc.integer({ min: 250, max: 1030 }), fc.constantFrom(1, 4))
  .map(([c, n, k]) => c.repeat(k === 4 ? Math.ceil(n / 4) : n));

const jidString = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.option(part), domain, fc.option(part)).map(([l, d, r]) => (l !== null ? `${l}@` : '') + d + (r !== null ? `/${r}` : '')) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.option(longPart), fc.oneof(longPart, domain), fc.option(longPart))
      .map(([l, d, r]) => (l !== null ? `${l}@` : '') + d + (r !== null ? `/${r}` : '')),
  },
);

function octets(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function onlyJidError(e: unknown): void {
  if (!(e instanceof JidError)) throw new Error(`threw ${e instanceof Error ? e.name : typeof e}, not JidError: ${String(e)}`, { cause: e });
}

export const targets = {
  /** parseJid/tryParseJid on arbitrary and JID-shaped strings. */
  'parseJid round trip': {
    runs: 20_000,
    arbitrary: () => jidString,
    check(s) {
      let j: Jid;
      try {
        j = parseJid(s);
      } catch (e) {
        onlyJidError(e);
        assert.equal(tryParseJid(s), undefined);
        return;
      }
      const str = j.toString();
      assert.equal(tryParseJid(s)?.toString(), str, 'tryParseJid agrees');
      assert.equal(parseJid(s).toString(), str, 'parsing twice gives the same JID');
      // §3.1 limits, and no part that the string form could not carry.
      assert.ok(j.domain !== '', 'empty domain');
      for (const p of [j.local, j.domain, j.resource]) assert.ok(octets(p) <= 1023, 'part over 1023 octets');
      assert.ok(!j.local.includes('@') && !j.local.includes('/') && !j.domain.includes('@') && !j.domain.includes('/'));
      // Round trip: the prepared form parses to itself.
      let again: Jid;
      try {
        again = parseJid(str);
      } catch (e) {
        throw new Error(`prepared JID ${JSON.stringify(str)} does not parse: ${String(e)}`, { cause: e });
      }
      assert.ok(again.equals(j), `re-parse of ${JSON.stringify(str)} gave ${JSON.stringify(again.toString())}`);
      assert.deepEqual([again.local, again.domain, again.resource], [j.local, j.domain, j.resource]);
      assert.equal(parseJid(j.bareString).toString(), j.bare().toString());
      // The fast path agrees with preparing each part on its own (RFC 7622 §3.1 split rules).
      const slash = s.indexOf('/');
      const rest = slash >= 0 ? s.slice(0, slash) : s;
      const at = rest.indexOf('@');
      assert.equal(at >= 0 ? prepLocalpart(rest.slice(0, at)) : '', j.local, 'localpart');
      assert.equal(prepDomainpart(at >= 0 ? rest.slice(at + 1) : rest), j.domain, 'domainpart');
      assert.equal(slash >= 0 ? prepResourcepart(s.slice(slash + 1)) : '', j.resource, 'resourcepart');
    },
  } satisfies FuzzTarget<string>,

  /** Each part's preparation on its own: JidError only, idempotent, within the limits. */
  'prepLocalpart / prepDomainpart / prepResourcepart': {
    runs: 20_000,
    arbitrary: () => fc.tuple(fc.constantFrom('local', 'domain', 'resource'), fc.oneof({ weight: 5, arbitrary: part }, { weight: 3, arbitrary: domain }, { weight: 1, arbitrary: longPart })),
    check([which, s]) {
      const prep = which === 'local' ? prepLocalpart : which === 'domain' ? prepDomainpart : prepResourcepart;
      let out: string;
      try {
        out = prep(s);
      } catch (e) {
        onlyJidError(e);
        return;
      }
      assert.ok(out !== '' && octets(out) <= 1023);
      assert.equal(prep(out), out, `${which}part preparation is not idempotent for ${JSON.stringify(s)}`);
    },
  } satisfies FuzzTarget<[string, string]>,

  /** Jid.withResource: JidError only, and the result round-trips. */
  'withResource': {
    runs: 5_000,
    arbitrary: () => fc.tuple(fc.constantFrom('juliet@example.com', 'example.com', 'ß@münchen.example/x'), fc.oneof(part, longPart)),
    check([base, r]) {
      const j = parseJid(base);
      let w: Jid;
      try {
        w = j.withResource(r);
      } catch (e) {
        onlyJidError(e);
        return;
      }
      assert.ok(parseJid(w.toString()).equals(w));
      assert.equal(w.bareString, j.bareString);
    },
  } satisfies FuzzTarget<[string, string]>,
};

fuzzTests(import.meta.url, targets);
