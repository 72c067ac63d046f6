// RFC 7622 (XMPP Address Format): JID parsing (§3.1) and preparation of the domainpart (§3.2, IDNA2008),
// localpart (§3.3, PRECIS UsernameCaseMapped) and resourcepart (§3.4, PRECIS OpaqueString).
import { Buffer } from 'node:buffer';
import { isIPv4 } from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';
import {
  checkIdnaLabel,
  enforceOpaqueString,
  enforceUsernameCaseMapped,
  hasRtl,
  PrecisError,
  satisfiesBidiRule,
} from '../lib/precis.ts';

export class JidError extends Error {
  override readonly name = 'JidError';
}

/** An immutable, prepared JID. The constructor trusts its arguments: use parseJid / prep* for untrusted input. */
export class Jid {
  readonly local: string;
  readonly domain: string;
  readonly resource: string;
  readonly #str: string;

  constructor(local: string, domain: string, resource: string) {
    this.local = local;
    this.domain = domain;
    this.resource = resource;
    this.#str = (local ? local + '@' : '') + domain + (resource ? '/' + resource : '');
  }
  get isBare(): boolean {
    return this.resource === '';
  }
  /** The bare JID (local@domain). */
  bare(): Jid {
    return this.resource === '' ? this : new Jid(this.local, this.domain, '');
  }
  get bareString(): string {
    return (this.local ? this.local + '@' : '') + this.domain;
  }
  /** This JID with the resource prepared and replaced (throws JidError); '' gives the bare JID. */
  withResource(resource: string): Jid {
    if (resource === '') return this.bare();
    return new Jid(this.local, this.domain, prepResourcepart(resource));
  }
  equals(other: Jid | undefined): boolean {
    return other !== undefined && other.#str === this.#str;
  }
  toString(): string {
    return this.#str;
  }
}

/** RFC 7622 §3.1: every part is at most 1023 octets of UTF-8. */
const MAX_OCTETS = 1023;
// Preparation can shrink a part (width mapping, NFC composition) but never fourfold in any sane input; bounding
// the raw length first keeps hostile input cheap to reject.
const MAX_RAW = 4 * MAX_OCTETS;
const MAX_RAW_JID = 3 * MAX_RAW + 2;

// RFC 7622 §3.3.1: characters the localpart excludes beyond the IdentifierClass.
const RE_LOCAL_EXCLUDED = /["&'/:<>@]/;

// The common case (per stanza): lowercase ASCII localpart, LDH domain, printable ASCII resource. Such parts are
// unchanged by every preparation step, so matching this is a complete validation once the domain labels pass.
const RE_FAST_JID = /^(?:([a-z0-9._-]{1,1023})@)?([a-z0-9.-]{1,253})(?:\/([\x20-\x7e]{1,1023}))?$/;
// LDH labels of 1..63 octets, no leading/trailing hyphen, no "--" in the 3rd/4th positions (RFC 5891 §4.2.3.1:
// reserved for A-labels, which take the slow path to be decoded).
const RE_LDH_DOMAIN =
  /^(?:(?!..--)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*(?!..--)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const RE_NUMERIC_TLD = /(?:^|\.)[0-9]+$/; // an IPv4 address (or junk the URL host parser would turn into one)
const RE_LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// Characters the WHATWG host parser behind domainToASCII would percent-decode or treat as delimiters.
const RE_DOMAIN_FORBIDDEN = /[\s%/\\@:?#[\]<>^|]/;
const RE_ASCII = /^\p{ASCII}*$/u;

function octets(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function isPlainDomain(d: string): boolean {
  return RE_LDH_DOMAIN.test(d) && !RE_NUMERIC_TLD.test(d);
}

function fail(part: string, e: unknown): never {
  if (e instanceof PrecisError) throw new JidError(`invalid ${part}: ${e.message}`);
  throw e;
}

/** RFC 7622 §3.3: prepares a localpart (UsernameCaseMapped, minus the §3.3.1 exclusions). Throws JidError. */
export function prepLocalpart(s: string): string {
  if (s === '') throw new JidError('empty localpart');
  if (s.length > MAX_RAW) throw new JidError('localpart too long');
  let out: string;
  try {
    out = enforceUsernameCaseMapped(s);
  } catch (e) {
    fail('localpart', e);
  }
  if (RE_LOCAL_EXCLUDED.test(out)) throw new JidError('invalid localpart: excluded character');
  if (octets(out) > MAX_OCTETS) throw new JidError('localpart too long');
  return out;
}

/** RFC 7622 §3.4: prepares a resourcepart (OpaqueString). Throws JidError. */
export function prepResourcepart(s: string): string {
  if (s === '') throw new JidError('empty resourcepart');
  if (s.length > MAX_RAW) throw new JidError('resourcepart too long');
  let out: string;
  try {
    out = enforceOpaqueString(s);
  } catch (e) {
    fail('resourcepart', e);
  }
  if (octets(out) > MAX_OCTETS) throw new JidError('resourcepart too long');
  return out;
}

// Few distinct domains pass through a server: remembering prepared IDN/mixed-case ones avoids redoing IDNA.
const DOMAIN_CACHE_SIZE = 1024;
const domainCache = new Map<string, string>();

/**
 * RFC 7622 §3.2: prepares a domainpart: an IPv6 literal in brackets (canonicalized), a dotted-quad IPv4 address,
 * or a domain name mapped per UTS #46 (node's WHATWG URL host parser), checked against IDNA2008 (RFC 5891,
 * RFC 5892, RFC 5893) and returned in its lowercase Unicode form, one trailing dot stripped. Throws JidError.
 */
export function prepDomainpart(s: string): string {
  if (isPlainDomain(s)) return s;
  const cached = domainCache.get(s);
  if (cached !== undefined) return cached;
  const out = prepDomainSlow(s);
  if (domainCache.size >= DOMAIN_CACHE_SIZE) domainCache.clear();
  domainCache.set(s, out);
  return out;
}

function prepDomainSlow(input: string): string {
  if (input === '') throw new JidError('empty domainpart');
  if (input.length > MAX_RAW) throw new JidError('domainpart too long');
  if (input.startsWith('[')) return prepIpLiteral(input);
  if (RE_DOMAIN_FORBIDDEN.test(input)) throw new JidError('invalid domainpart: forbidden character');
  if (RE_ASCII.test(input)) {
    const d = (input.endsWith('.') ? input.slice(0, -1) : input).toLowerCase();
    if (isPlainDomain(d)) return d;
    if (isIPv4(d)) return d;
  }
  let ascii = domainToASCII(input);
  if (ascii === '') throw new JidError('invalid domainpart');
  if (ascii.endsWith('.')) ascii = ascii.slice(0, -1);
  if (ascii === '') throw new JidError('empty domainpart');
  // The URL host parser reads "127.1" or "0x7f.1" as IPv4 addresses; RFC 7622 only allows dotted quads (seen above).
  if (RE_NUMERIC_TLD.test(ascii) || isIPv4(ascii)) throw new JidError('invalid domainpart: not an IPv4 address');
  const aLabels = ascii.split('.');
  for (const a of aLabels) {
    if (!RE_LDH_LABEL.test(a)) throw new JidError('invalid domainpart: bad label');
    if (a.slice(2, 4) === '--' && !a.startsWith('xn--')) throw new JidError('invalid domainpart: reserved label');
  }
  const unicode = domainToUnicode(ascii);
  const uLabels = unicode.split('.');
  if (uLabels.length !== aLabels.length) throw new JidError('invalid domainpart');
  for (let i = 0; i < uLabels.length; i++) {
    const u = uLabels[i] ?? '';
    const a = aLabels[i] ?? '';
    if (a.startsWith('xn--')) {
      // An A-label must decode to a non-ASCII U-label that encodes back to itself (RFC 5891 §5.4).
      if (RE_ASCII.test(u) || domainToASCII(u) !== a) throw new JidError('invalid domainpart: bad A-label');
    }
    try {
      checkIdnaLabel(u);
    } catch (e) {
      fail('domainpart', e);
    }
  }
  // RFC 5893 §2: in a domain name with any RTL label, every label must satisfy the Bidi Rule.
  if (uLabels.some(hasRtl) && !uLabels.every(satisfiesBidiRule)) {
    throw new JidError('invalid domainpart: violates the Bidi Rule');
  }
  if (octets(unicode) > MAX_OCTETS) throw new JidError('domainpart too long');
  return unicode;
}

function prepIpLiteral(input: string): string {
  // RFC 7622 §3.2 / RFC 3986 IP-literal: "[" IPv6address "]" (no zone identifiers, no IPvFuture).
  if (!/^\[[0-9a-fA-F:.]+\]$/.test(input)) throw new JidError('invalid domainpart: bad IP literal');
  try {
    return new URL(`http://${input}/`).hostname; // canonical RFC 5952 text form, so equal addresses compare equal
  } catch {
    throw new JidError('invalid domainpart: bad IPv6 address');
  }
}

/** RFC 7622 §3.1: parses and prepares a JID string. Throws JidError. */
export function parseJid(s: string): Jid {
  const m = RE_FAST_JID.exec(s);
  if (m !== null) {
    const domain = m[2] ?? '';
    if (isPlainDomain(domain)) return new Jid(m[1] ?? '', domain, m[3] ?? '');
  }
  if (s.length > MAX_RAW_JID) throw new JidError('JID too long');
  // The resourcepart starts at the first '/', the localpart ends at the first '@' before it (RFC 7622 §3.1).
  const slash = s.indexOf('/');
  const rest = slash >= 0 ? s.slice(0, slash) : s;
  const at = rest.indexOf('@');
  const local = at >= 0 ? prepLocalpart(rest.slice(0, at)) : '';
  const domain = prepDomainpart(at >= 0 ? rest.slice(at + 1) : rest);
  const resource = slash >= 0 ? prepResourcepart(s.slice(slash + 1)) : '';
  return new Jid(local, domain, resource);
}

export function tryParseJid(s: string | undefined): Jid | undefined {
  if (s === undefined) return undefined;
  try {
    return parseJid(s);
  } catch {
    return undefined;
  }
}
