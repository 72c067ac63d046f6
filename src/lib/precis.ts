// PRECIS framework (RFC 8264 §8-§9) string classes, the RFC 8265 profiles UsernameCaseMapped (§3.3) and
// OpaqueString (§4.2), the RFC 5893 Bidi Rule, and the RFC 5892 IDNA2008 code point rules PRECIS builds on.
//
// Code point properties are derived from Unicode data exposed by JS regex property escapes (\p{...}) and
// String.prototype.normalize, so they follow the Unicode version of the running engine (as RFC 8264 intends:
// the derived property values are computed, not frozen). Where JS exposes no property (Bidi_Class,
// Joining_Type, Canonical_Combining_Class) we derive a close approximation, documented at each place.

/** Thrown when a string cannot be prepared. Messages never contain the offending input (it may be a password). */
export class PrecisError extends Error {
  override readonly name = 'PrecisError';
}

/** RFC 8264 §8 derived property values. 'ID_DIS_OR_FREE_PVAL' is disallowed in IdentifierClass, valid in FreeformClass. */
export type DerivedProperty = 'PVALID' | 'CONTEXTJ' | 'CONTEXTO' | 'DISALLOWED' | 'ID_DIS_OR_FREE_PVAL' | 'UNASSIGNED';

// RFC 5892 §2.6 Exceptions (F), referenced by RFC 8264 §9.6.
const EXCEPTIONS = new Map<number, DerivedProperty>([
  [0x00df, 'PVALID'], [0x03c2, 'PVALID'], [0x06fd, 'PVALID'], [0x06fe, 'PVALID'], [0x0f0b, 'PVALID'], [0x3007, 'PVALID'],
  [0x00b7, 'CONTEXTO'], [0x0375, 'CONTEXTO'], [0x05f3, 'CONTEXTO'], [0x05f4, 'CONTEXTO'], [0x30fb, 'CONTEXTO'],
  [0x0640, 'DISALLOWED'], [0x07fa, 'DISALLOWED'], [0x302e, 'DISALLOWED'], [0x302f, 'DISALLOWED'],
  [0x3031, 'DISALLOWED'], [0x3032, 'DISALLOWED'], [0x3033, 'DISALLOWED'], [0x3034, 'DISALLOWED'],
  [0x3035, 'DISALLOWED'], [0x303b, 'DISALLOWED'],
]);
for (let cp = 0x0660; cp <= 0x0669; cp++) EXCEPTIONS.set(cp, 'CONTEXTO');
for (let cp = 0x06f0; cp <= 0x06f9; cp++) EXCEPTIONS.set(cp, 'CONTEXTO');

const RE_UNASSIGNED = /\p{Cn}/u; // Noncharacters are Cn too; they are excluded separately (§9.11)
const RE_NONCHARACTER = /\p{Noncharacter_Code_Point}/u;
const RE_IGNORABLE = /[\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]/u; // §9.13
const RE_CONTROL = /\p{Cc}/u; // §9.12
const RE_LETTER_DIGITS = /[\p{Ll}\p{Lu}\p{Lo}\p{Nd}\p{Lm}\p{Mn}\p{Mc}]/u; // §9.1
const RE_OTHER_LETTER_DIGITS = /[\p{Lt}\p{Nl}\p{No}\p{Me}]/u; // §9.18
const RE_SPACES = /\p{Zs}/u; // §9.14
const RE_SYMBOLS = /[\p{Sm}\p{Sc}\p{Sk}\p{So}]/u; // §9.15
const RE_PUNCTUATION = /[\p{Pc}\p{Pd}\p{Ps}\p{Pe}\p{Pi}\p{Pf}\p{Po}]/u; // §9.16
const RE_WHITE_SPACE = /\p{White_Space}/u;
const RE_COMBINING_MARK = /[\p{Mn}\p{Mc}\p{Me}]/u;

/** RFC 8264 §9.9 / RFC 5892 §2.9: Hangul_Syllable_Type L, V or T (JS regexes cannot query that property). */
function isOldHangulJamo(cp: number): boolean {
  return (cp >= 0x1100 && cp <= 0x11ff) || (cp >= 0xa960 && cp <= 0xa97c) || (cp >= 0xd7b0 && cp <= 0xd7c6) ||
    (cp >= 0xd7cb && cp <= 0xd7fb);
}

/** HasCompat (§9.17): the code point changes under NFKC. */
function hasCompat(ch: string): boolean {
  return ch.normalize('NFKC') !== ch;
}

/** RFC 8264 §8: the derived property value of a code point (the order of the tests is normative). */
export function derivedProperty(cp: number): DerivedProperty {
  const ex = EXCEPTIONS.get(cp);
  if (ex !== undefined) return ex;
  // BackwardCompatible (§9.7) is empty.
  const ch = String.fromCodePoint(cp);
  if (RE_UNASSIGNED.test(ch) && !RE_NONCHARACTER.test(ch)) return 'UNASSIGNED';
  if (cp >= 0x21 && cp <= 0x7e) return 'PVALID'; // ASCII7 (§9.10)
  if (cp === 0x200c || cp === 0x200d) return 'CONTEXTJ'; // JoinControl (§9.8)
  if (isOldHangulJamo(cp)) return 'DISALLOWED';
  if (RE_IGNORABLE.test(ch)) return 'DISALLOWED';
  if (RE_CONTROL.test(ch)) return 'DISALLOWED';
  if (hasCompat(ch)) return 'ID_DIS_OR_FREE_PVAL';
  if (RE_LETTER_DIGITS.test(ch)) return 'PVALID';
  if (RE_OTHER_LETTER_DIGITS.test(ch) || RE_SPACES.test(ch) || RE_SYMBOLS.test(ch) || RE_PUNCTUATION.test(ch)) {
    return 'ID_DIS_OR_FREE_PVAL';
  }
  // Surrogates, private use, line/paragraph separators, format characters not caught above.
  return 'DISALLOWED';
}

/** RFC 5892 §2-§3: the IDNA2008 derived property value, for checking the U-labels of domainparts. */
export function idnaProperty(cp: number): 'PVALID' | 'CONTEXTJ' | 'CONTEXTO' | 'DISALLOWED' | 'UNASSIGNED' {
  const ex = EXCEPTIONS.get(cp);
  if (ex !== undefined) return ex === 'ID_DIS_OR_FREE_PVAL' ? 'DISALLOWED' : ex;
  const ch = String.fromCodePoint(cp);
  if (RE_UNASSIGNED.test(ch) && !RE_NONCHARACTER.test(ch)) return 'UNASSIGNED';
  if ((cp >= 0x61 && cp <= 0x7a) || (cp >= 0x30 && cp <= 0x39) || cp === 0x2d) return 'PVALID'; // LDH (§2.5)
  if (cp === 0x200c || cp === 0x200d) return 'CONTEXTJ';
  // Unstable (§2.2): changes under NFKC_Casefold. toLowerCase approximates case folding; the few code points where
  // the two differ (final sigma, sharp s) are Exceptions handled above.
  if (ch.normalize('NFKC').toLowerCase().normalize('NFKC') !== ch) return 'DISALLOWED';
  if (RE_IGNORABLE.test(ch) || RE_WHITE_SPACE.test(ch)) return 'DISALLOWED'; // IgnorableProperties (§2.3)
  // IgnorableBlocks (§2.4): Combining Diacritical Marks for Symbols, Musical Symbols, Ancient Greek Musical Notation.
  if ((cp >= 0x20d0 && cp <= 0x20ff) || (cp >= 0x1d100 && cp <= 0x1d24f)) return 'DISALLOWED';
  if (isOldHangulJamo(cp)) return 'DISALLOWED';
  if (RE_LETTER_DIGITS.test(ch)) return 'PVALID';
  return 'DISALLOWED';
}

// ---- Contextual rules (RFC 5892 Appendix A, used by RFC 8264 §7 for CONTEXTJ/CONTEXTO code points) ----

const RE_GREEK = /\p{Script=Greek}/u;
const RE_HEBREW = /\p{Script=Hebrew}/u;
const RE_HIRAGANA_KATAKANA_HAN = /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u;
// Joining_Type is not exposed to JS regexes: letters of the cursive-joining scripts stand in for types L/R/D,
// and marks/format characters for type T (transparent).
const RE_JOINING_LETTER =
  /[\p{Script=Arabic}\p{Script=Syriac}\p{Script=Nko}\p{Script=Mongolian}\p{Script=Mandaic}\p{Script=Manichaean}\p{Script=Psalter_Pahlavi}\p{Script=Phags_Pa}\p{Script=Adlam}\p{Script=Hanifi_Rohingya}\p{Script=Sogdian}\p{Script=Chorasmian}\p{Script=Old_Uyghur}]/u;
const RE_JOINING_LETTER_ONLY = /\p{L}/u;
const RE_TRANSPARENT = /[\p{Mn}\p{Me}\p{Cf}]/u;

/**
 * Canonical_Combining_Class == Virama (9). JS has no property for it, but canonical reordering reveals it:
 * a mark sorts after U+3099 (ccc 8) iff its class is above 8, and before U+05B0 (ccc 10) iff it is 1..9.
 */
function isVirama(cp: number | undefined): boolean {
  if (cp === undefined) return false;
  const m = String.fromCodePoint(cp);
  if (m.normalize('NFD') !== m) return false;
  return ('a' + m + '\u3099').normalize('NFD') === 'a\u3099' + m && ('a\u05b0' + m).normalize('NFD') === 'a' + m + '\u05b0';
}

function isJoiningLetter(cp: number): boolean {
  const ch = String.fromCodePoint(cp);
  return RE_JOINING_LETTER.test(ch) && RE_JOINING_LETTER_ONLY.test(ch);
}

function isTransparent(cp: number): boolean {
  return cp !== 0x200c && cp !== 0x200d && RE_TRANSPARENT.test(String.fromCodePoint(cp));
}

/** ZWNJ between joining letters: (L|D) T* ZWNJ T* (R|D). */
function zwnjBetweenJoiningLetters(cps: readonly number[], i: number): boolean {
  let b = i - 1;
  while (b >= 0 && isTransparent(cps[b] ?? 0)) b--;
  let a = i + 1;
  while (a < cps.length && isTransparent(cps[a] ?? 0)) a++;
  const before = cps[b];
  const after = cps[a];
  return before !== undefined && after !== undefined && isJoiningLetter(before) && isJoiningLetter(after);
}

/** Whether the CONTEXTJ/CONTEXTO code point at index i satisfies its rule. */
function contextAllows(cps: readonly number[], i: number): boolean {
  const cp = cps[i] ?? 0;
  const before = cps[i - 1];
  const after = cps[i + 1];
  switch (cp) {
    case 0x200c: // ZERO WIDTH NON-JOINER (A.1)
      return isVirama(before) || zwnjBetweenJoiningLetters(cps, i);
    case 0x200d: // ZERO WIDTH JOINER (A.2)
      return isVirama(before);
    case 0x00b7: // MIDDLE DOT, as in Catalan l·l (A.3)
      return before === 0x6c && after === 0x6c;
    case 0x0375: // GREEK LOWER NUMERAL SIGN (A.4)
      return after !== undefined && RE_GREEK.test(String.fromCodePoint(after));
    case 0x05f3: // HEBREW PUNCTUATION GERESH / GERSHAYIM (A.5, A.6)
    case 0x05f4:
      return before !== undefined && RE_HEBREW.test(String.fromCodePoint(before));
    case 0x30fb: // KATAKANA MIDDLE DOT (A.7)
      return cps.some((c) => c !== 0x30fb && RE_HIRAGANA_KATAKANA_HAN.test(String.fromCodePoint(c)));
    default:
      // ARABIC-INDIC and EXTENDED ARABIC-INDIC digits must not be mixed (A.8, A.9).
      if (cp >= 0x0660 && cp <= 0x0669) return !cps.some((c) => c >= 0x06f0 && c <= 0x06f9);
      if (cp >= 0x06f0 && cp <= 0x06f9) return !cps.some((c) => c >= 0x0660 && c <= 0x0669);
      return false;
  }
}

function codePoints(s: string): number[] {
  return Array.from(s, (ch) => ch.codePointAt(0) ?? 0);
}

function checkClass(s: string, freeform: boolean): void {
  const cps = codePoints(s);
  for (let i = 0; i < cps.length; i++) {
    const p = derivedProperty(cps[i] ?? 0);
    if (p === 'PVALID') continue;
    if (p === 'ID_DIS_OR_FREE_PVAL' && freeform) continue;
    if ((p === 'CONTEXTJ' || p === 'CONTEXTO') && contextAllows(cps, i)) continue;
    throw new PrecisError(p === 'UNASSIGNED' ? 'unassigned code point' : 'disallowed code point');
  }
}

/** RFC 8264 §4.2: throws unless every code point is valid in IdentifierClass. */
export function checkIdentifierClass(s: string): void {
  checkClass(s, false);
}

/** RFC 8264 §4.3: throws unless every code point is valid in FreeformClass. */
export function checkFreeformClass(s: string): void {
  checkClass(s, true);
}

/** RFC 5891 §4.2.3-§4.2.4 checks on one U-label (already mapped, lowercase, NFC). Throws PrecisError. */
export function checkIdnaLabel(label: string): void {
  if (label === '') throw new PrecisError('empty label');
  if (label.startsWith('-') || label.endsWith('-')) throw new PrecisError('label starts or ends with a hyphen');
  if (label.slice(2, 4) === '--') throw new PrecisError('label has hyphens in the third and fourth positions');
  if (label.normalize('NFC') !== label) throw new PrecisError('label is not in NFC');
  if (RE_COMBINING_MARK.test(String.fromCodePoint(label.codePointAt(0) ?? 0))) {
    throw new PrecisError('label starts with a combining mark');
  }
  const cps = codePoints(label);
  for (let i = 0; i < cps.length; i++) {
    const p = idnaProperty(cps[i] ?? 0);
    if (p === 'PVALID') continue;
    if ((p === 'CONTEXTJ' || p === 'CONTEXTO') && contextAllows(cps, i)) continue;
    throw new PrecisError(p === 'UNASSIGNED' ? 'unassigned code point' : 'disallowed code point');
  }
}

// ---- Bidi Rule (RFC 5893 §2) ----

/** The Bidi_Class groups the Bidi Rule distinguishes; 'N' = ES/CS/ET/ON/BN, 'X' = classes it never allows. */
type BidiGroup = 'L' | 'R' | 'AN' | 'EN' | 'NSM' | 'N' | 'X';

const RE_NSM = /[\p{Mn}\p{Me}]/u;
const RE_NEUTRAL = /[\p{P}\p{S}\p{No}\p{Cf}]/u;
const RE_NEVER = /[\p{Z}\p{Cc}\u202a-\u202e\u2066-\u2069]/u;
const RE_FORMAT = /\p{Cf}/u;

/** Blocks whose code points default to Bidi_Class R or AL (DerivedBidiClass.txt). */
function inRtlBlock(cp: number): boolean {
  return (cp >= 0x0590 && cp <= 0x08ff) || (cp >= 0xfb1d && cp <= 0xfdff) || (cp >= 0xfe70 && cp <= 0xfeff) ||
    (cp >= 0x10800 && cp <= 0x10fff) || (cp >= 0x1e800 && cp <= 0x1efff);
}

/**
 * Approximate Bidi_Class (JS regexes cannot query it): right-to-left blocks give R/AL except their marks (NSM),
 * Arabic digits and number signs (AN) and Extended Arabic-Indic digits (EN); elsewhere letters are L, and
 * punctuation/symbols/format characters are neutral.
 */
function bidiGroup(cp: number): BidiGroup {
  const ch = String.fromCodePoint(cp);
  if (RE_NSM.test(ch)) return 'NSM';
  if (inRtlBlock(cp)) {
    if ((cp >= 0x0600 && cp <= 0x0605) || (cp >= 0x0660 && cp <= 0x0669) || cp === 0x066b || cp === 0x066c ||
      cp === 0x06dd || cp === 0x0890 || cp === 0x0891 || cp === 0x08e2 || (cp >= 0x10d30 && cp <= 0x10d39) ||
      (cp >= 0x10e60 && cp <= 0x10e7e)) return 'AN';
    if (cp >= 0x06f0 && cp <= 0x06f9) return 'EN';
    if (cp === 0x060c || cp === 0xfb29 || RE_FORMAT.test(ch)) return 'N';
    return 'R';
  }
  if ((cp >= 0x30 && cp <= 0x39) || cp === 0xb2 || cp === 0xb3 || cp === 0xb9 || cp === 0x2070 ||
    (cp >= 0x2074 && cp <= 0x2079) || (cp >= 0x2080 && cp <= 0x2089) || (cp >= 0x2488 && cp <= 0x249b) ||
    (cp >= 0xff10 && cp <= 0xff19) || (cp >= 0x1d7ce && cp <= 0x1d7ff) || (cp >= 0x1f100 && cp <= 0x1f10a)) return 'EN';
  if (RE_NEVER.test(ch)) return 'X';
  if (RE_NEUTRAL.test(ch)) return 'N';
  return 'L';
}

/** RFC 5893 §1.4: an "RTL label" contains at least one R, AL or AN code point. */
export function hasRtl(s: string): boolean {
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x0590) continue;
    const g = bidiGroup(cp);
    if (g === 'R' || g === 'AN') return true;
  }
  return false;
}

/** RFC 5893 §2: the six conditions of the Bidi Rule. */
export function satisfiesBidiRule(s: string): boolean {
  const groups = codePoints(s).map(bidiGroup);
  const first = groups[0];
  let end = groups.length - 1;
  while (end >= 0 && groups[end] === 'NSM') end--;
  const last = groups[end];
  if (first === 'R') {
    let en = false;
    let an = false;
    for (const g of groups) {
      if (g === 'L' || g === 'X') return false; // rule 2
      if (g === 'EN') en = true;
      if (g === 'AN') an = true;
    }
    if (last !== 'R' && last !== 'EN' && last !== 'AN') return false; // rule 3
    return !(en && an); // rule 4
  }
  if (first === 'L') {
    for (const g of groups) if (g === 'R' || g === 'AN' || g === 'X') return false; // rule 5
    return last === 'L' || last === 'EN'; // rule 6
  }
  return false; // rule 1
}

// ---- Profiles (RFC 8265) ----

const RE_WIDE_OR_NARROW = /[\u3000\uff01-\uffee]/gu;
const RE_NON_ASCII_SPACE = /[^\P{Zs} ]/gu;
const RE_ASCII_IDENTIFIER = /^[\x21-\x7e]+$/;
const RE_ASCII_FREEFORM = /^[\x20-\x7e]+$/;
// Apply the rules repeatedly until the output is stable; give up after this many rounds (RFC 8264 §7).
const MAX_ROUNDS = 4;

/**
 * Width Mapping Rule (RFC 8265 §3.3.2 step 1): fullwidth and halfwidth code points to their decomposition
 * mappings. Those are exactly the <wide>/<narrow> compatibility code points: U+3000 and U+FF01..U+FFEE.
 */
export function widthMap(s: string): string {
  return s.replace(RE_WIDE_OR_NARROW, (ch) => ch.normalize('NFKC'));
}

function stabilize(s: string, round: (s: string) => string): string {
  if (!s.isWellFormed()) throw new PrecisError('lone surrogate');
  let cur = round(s);
  for (let i = 1; i < MAX_ROUNDS; i++) {
    const next = round(cur);
    if (next === cur) return cur;
    cur = next;
  }
  throw new PrecisError('string does not stabilize');
}

function usernameCaseMappedRound(input: string): string {
  // Case Mapping Rule: toLowerCase(). Capital sigma is mapped to σ without regard to its position, so the
  // result of a code point never depends on its neighbours (JS toLowerCase applies the Final_Sigma context).
  const s = widthMap(input).replaceAll('\u03a3', '\u03c3').toLowerCase().normalize('NFC');
  if (s === '') throw new PrecisError('empty string');
  checkIdentifierClass(s);
  if (hasRtl(s) && !satisfiesBidiRule(s)) throw new PrecisError('violates the Bidi Rule');
  return s;
}

/** RFC 8265 §3.3.2-§3.3.3: enforce the UsernameCaseMapped profile. Throws PrecisError. */
export function enforceUsernameCaseMapped(s: string): string {
  if (RE_ASCII_IDENTIFIER.test(s)) return s.toLowerCase(); // ASCII7 is PVALID and has no Bidi issues
  return stabilize(s, usernameCaseMappedRound);
}

function opaqueStringRound(input: string): string {
  // Additional Mapping Rule: non-ASCII spaces to U+0020. No width or case mapping. Normalization: NFC.
  const s = input.replace(RE_NON_ASCII_SPACE, ' ').normalize('NFC');
  if (s === '') throw new PrecisError('empty string');
  checkFreeformClass(s);
  return s;
}

/** RFC 8265 §4.2.2-§4.2.3: enforce the OpaqueString profile. Throws PrecisError. */
export function enforceOpaqueString(s: string): string {
  if (RE_ASCII_FREEFORM.test(s)) return s; // printable ASCII is valid and unchanged by every rule
  return stabilize(s, opaqueStringRound);
}
