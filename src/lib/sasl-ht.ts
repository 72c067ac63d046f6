// The Hashed Token SASL mechanisms (draft-schmaus-kitten-sasl-ht-08), as XEP-0484 FAST uses them:
// HT-SHA-256-NONE, -ENDP (tls-server-end-point), -UNIQ (tls-unique), -EXPR (tls-exporter).
//
// A pure library: no sockets, no storage. One round trip: the initiator sends
// `authcid NUL HMAC(token, "Initiator" || cb-data)`, the responder answers with
// `HMAC(token, "Responder" || cb-data)` as additional data of its success.
//
// Why the server needs no token in clear: HMAC keys longer than the hash's block (64 bytes for
// SHA-256) are replaced by their hash before use (RFC 2104 §2), so for a token of more than 64
// bytes HMAC(token, m) = HMAC(SHA-256(token), m). Tokens are issued that long (TOKEN_BYTES), and
// only SHA-256(token) is stored.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type HtChannelBinding = 'none' | 'tls-server-end-point' | 'tls-unique' | 'tls-exporter';

/** Strongest binding first: the order they are offered in. */
const SUFFIXES: Record<string, HtChannelBinding> = { EXPR: 'tls-exporter', ENDP: 'tls-server-end-point', UNIQ: 'tls-unique', NONE: 'none' };

/** SHA-256's HMAC block size: longer keys are hashed first (RFC 2104 §2). */
const HMAC_BLOCK = 64;
/** Random bytes in a token: its base64url text is 86 bytes, longer than the block, 512 bits of entropy (draft §5: at least 128). */
const TOKEN_BYTES = 64;
const HASH_BYTES = 32;
/** draft §3.1: authcid "MUST accept up to 255 octets"; more is refused, which bounds the work. */
const MAX_AUTHCID_BYTES = 1024;

/** The mechanism names offered for these channel-binding types ('none' always works), strongest first. */
export function htMechanisms(cbTypes: readonly string[]): string[] {
  return Object.entries(SUFFIXES)
    .filter(([, cb]) => cb === 'none' || cbTypes.includes(cb))
    .map(([suffix]) => `HT-SHA-256-${suffix}`);
}

/** The channel binding an HT mechanism uses; undefined for anything else (only SHA-256 is supported). */
export function parseHtMechanism(name: string): HtChannelBinding | undefined {
  const m = /^HT-SHA-256-([A-Z]+)$/.exec(name);
  return m ? SUFFIXES[m[1] ?? ''] : undefined;
}

/** A new token: 64 random bytes, base64url (86 characters, longer than the HMAC block). */
export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** The key the server keeps for a token: SHA-256 of its UTF-8 octets, which HMAC uses in its place. */
export function tokenKey(token: string): Buffer {
  const bytes = Buffer.from(token, 'utf8');
  if (bytes.length <= HMAC_BLOCK) throw new RangeError('HT tokens kept as hashes must be longer than 64 bytes');
  return createHash('sha256').update(bytes).digest();
}

/** initiator-hashed-token := HMAC(token, "Initiator" || cb-data), keyed by the token or its key. */
export function initiatorHash(key: Buffer | string, cbData: Buffer): Buffer {
  return createHmac('sha256', key).update('Initiator').update(cbData).digest();
}

/** responder-msg := HMAC(token, "Responder" || cb-data). */
export function responderHash(key: Buffer | string, cbData: Buffer): Buffer {
  return createHmac('sha256', key).update('Responder').update(cbData).digest();
}

/** Compares a received initiator hash with the one a stored key gives, in constant time. */
export function initiatorMatches(key: Buffer, cbData: Buffer, received: Buffer): boolean {
  const expected = initiatorHash(key, cbData);
  return received.length === expected.length && timingSafeEqual(received, expected);
}

/**
 * initiator-msg = authcid NUL initiator-hashed-token (draft §3.1). The hash may itself contain
 * NUL octets, so the first NUL ends the authcid. Undefined for anything malformed.
 */
export function parseInitiatorMessage(msg: Buffer): { authcid: string; hash: Buffer } | undefined {
  const nul = msg.indexOf(0);
  if (nul <= 0 || nul > MAX_AUTHCID_BYTES) return undefined;
  const hash = msg.subarray(nul + 1);
  if (hash.length !== HASH_BYTES) return undefined;
  let authcid: string;
  try {
    authcid = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(msg.subarray(0, nul));
  } catch {
    return undefined;
  }
  return { authcid, hash: Buffer.from(hash) };
}
