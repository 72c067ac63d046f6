// SASL SCRAM server side (RFC 5802 §5–§7, RFC 7677), channel binding (RFC 5929, RFC 9266, XEP-0440) and SCRAM downgrade protection (XEP-0474 §5).
//
// A pure library: no sockets, no storage. The caller supplies a credential
// lookup and the TLS channel-binding data; this module parses and checks the
// SCRAM messages and tells the caller what to send back.
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export type ScramHash = 'SHA-1' | 'SHA-256';

/** Hashes supported, strongest first (the order mechanisms are best advertised in). */
export const SCRAM_HASHES: readonly ScramHash[] = ['SHA-256', 'SHA-1'];

const ALGORITHMS: Record<ScramHash, { node: string; length: number }> = {
  'SHA-1': { node: 'sha1', length: 20 },
  'SHA-256': { node: 'sha256', length: 32 },
};

/** What the server stores per user and hash: never the password itself (RFC 5802 §3). JSON-serialisable. */
export interface ScramCredentials {
  /** base64 */
  salt: string;
  iterations: number;
  /** base64 of H(ClientKey) */
  storedKey: string;
  /** base64 of HMAC(SaltedPassword, "Server Key") */
  serverKey: string;
}

/** SASL failure conditions (RFC 6120 §6.5). */
export type SaslFailureCondition =
  | 'aborted' | 'account-disabled' | 'credentials-expired' | 'encryption-required'
  | 'incorrect-encoding' | 'invalid-authzid' | 'invalid-mechanism' | 'malformed-request'
  | 'mechanism-too-weak' | 'not-authorized' | 'temporary-auth-failure';

/** server-error-value (RFC 5802 §7). */
export type ScramServerError =
  | 'invalid-encoding' | 'extensions-not-supported' | 'invalid-proof' | 'channel-bindings-dont-match'
  | 'server-does-support-channel-binding' | 'channel-binding-not-supported'
  | 'unsupported-channel-binding-type' | 'unknown-user' | 'invalid-username-encoding'
  | 'no-resources' | 'other-error';

export interface SaslFailure {
  condition: SaslFailureCondition;
  /** Human-readable, safe to send to the client (never names the user or says whether it exists). */
  text?: string;
  /** The RFC 5802 server-error value, for the caller's diagnostics. */
  scramError?: ScramServerError;
}

export type ScramFailure = SaslFailure;

/** Largest SCRAM message accepted: real ones are a few hundred bytes; this bounds parsing work. */
const MAX_MESSAGE_BYTES = 8192;
const DEFAULT_SALT_BYTES = 16;
const DEFAULT_ITERATIONS = 4096;
/** Upper bound on iteration counts we derive with, so a bad config value can't pin a core for minutes. */
const MAX_ITERATIONS = 100_000_000;

/** Secret used to derive stable fake salts for unknown users when the caller gives none. */
const PROCESS_SECRET = randomBytes(32);

// ---------------------------------------------------------------------------
// Primitives (RFC 5802 §2.2, §3)

function hmac(hash: ScramHash, key: Buffer, data: Buffer | string): Buffer {
  return createHmac(ALGORITHMS[hash].node, key).update(data).digest();
}

function digest(hash: ScramHash, data: Buffer | string): Buffer {
  return createHash(ALGORITHMS[hash].node).update(data).digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (RFC 4648 §4 with padding): Node's decoder silently skips junk, which we must not. */
function decodeBase64(s: string): Buffer | undefined {
  if (!BASE64_RE.test(s)) return undefined;
  const bytes = Buffer.from(s, 'base64');
  // RFC 4648 §3.5: non-zero pad bits make a second spelling of the same bytes; refuse it.
  return bytes.toString('base64') === s ? bytes : undefined;
}

function saltedPassword(password: string, salt: Buffer, iterations: number, hash: ScramHash): Promise<Buffer> {
  const { node, length } = ALGORITHMS[hash];
  return pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, length, node);
}

function checkIterations(iterations: number): void {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new RangeError(`SCRAM iteration count must be an integer in 1..${MAX_ITERATIONS}`);
  }
}

/** Decoded, length-checked credentials, or undefined if the stored record is unusable. */
function decodeCredentials(hash: ScramHash, creds: ScramCredentials): { salt: Buffer; storedKey: Buffer; serverKey: Buffer } | undefined {
  if (typeof creds !== 'object' || creds === null) return undefined;
  const { length } = ALGORITHMS[hash];
  if (!Number.isSafeInteger(creds.iterations) || creds.iterations < 1) return undefined;
  const salt = typeof creds.salt === 'string' ? decodeBase64(creds.salt) : undefined;
  const storedKey = typeof creds.storedKey === 'string' ? decodeBase64(creds.storedKey) : undefined;
  const serverKey = typeof creds.serverKey === 'string' ? decodeBase64(creds.serverKey) : undefined;
  if (!salt || salt.length === 0 || storedKey?.length !== length || serverKey?.length !== length) return undefined;
  return { salt, storedKey, serverKey };
}

/**
 * Computes the stored SCRAM credentials for a password (RFC 5802 §3).
 * The password must already be prepared (SASLprep / OpaqueString) by the caller.
 */
export async function deriveCredentials(password: string, hash: ScramHash, iterations: number, salt?: Buffer): Promise<ScramCredentials> {
  checkIterations(iterations);
  const saltBytes = salt ?? randomBytes(DEFAULT_SALT_BYTES);
  if (saltBytes.length === 0) throw new RangeError('SCRAM salt must not be empty');
  const salted = await saltedPassword(password, saltBytes, iterations, hash);
  const clientKey = hmac(hash, salted, 'Client Key');
  return {
    salt: saltBytes.toString('base64'),
    iterations,
    storedKey: digest(hash, clientKey).toString('base64'),
    serverKey: hmac(hash, salted, 'Server Key').toString('base64'),
  };
}

/**
 * Checks a plaintext password (e.g. from SASL PLAIN) against stored SCRAM credentials,
 * in constant time with respect to the key comparison. Unusable records yield false.
 */
export async function verifyPassword(password: string, hash: ScramHash, creds: ScramCredentials): Promise<boolean> {
  const decoded = decodeCredentials(hash, creds);
  if (!decoded || creds.iterations > MAX_ITERATIONS) return false;
  const salted = await saltedPassword(password, decoded.salt, creds.iterations, hash);
  const storedKey = digest(hash, hmac(hash, salted, 'Client Key'));
  return timingSafeEqual(storedKey, decoded.storedKey);
}

/** The SASL mechanism name, e.g. 'SCRAM-SHA-256-PLUS'. */
export function scramMechanismName(hash: ScramHash, plus: boolean): string {
  return `SCRAM-${hash}${plus ? '-PLUS' : ''}`;
}

/** Inverse of scramMechanismName; undefined for anything that isn't a supported SCRAM mechanism. */
export function parseScramMechanism(name: string): { hash: ScramHash; plus: boolean } | undefined {
  for (const hash of SCRAM_HASHES) {
    if (name === scramMechanismName(hash, false)) return { hash, plus: false };
    if (name === scramMechanismName(hash, true)) return { hash, plus: true };
  }
  return undefined;
}

function octetSort(values: readonly string[]): string[] {
  // "i;octet" collation (RFC 4790 §9.3): compare the UTF-8 bytes, not UTF-16 code units.
  return [...values].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

/**
 * The XEP-0474 (SSDP) downgrade-protection hash, sent as the 'h' attribute of the server-first-message:
 * H(sorted mechanisms joined by %x1E [+ %x1F + sorted channel-binding types joined by %x1E]), base64.
 * `cbTypes` is the list advertised with XEP-0440; omit it (or pass an empty list, which XEP-0440
 * forbids advertising) when no <sasl-channel-binding/> feature was sent.
 */
export function downgradeProtectionHash(hash: ScramHash, mechanisms: readonly string[], cbTypes?: readonly string[]): string {
  let s = octetSort(mechanisms).join('\x1e');
  if (cbTypes && cbTypes.length > 0) s += '\x1f' + octetSort(cbTypes).join('\x1e');
  return digest(hash, Buffer.from(s, 'utf8')).toString('base64');
}

// ---------------------------------------------------------------------------
// Message syntax (RFC 5802 §7)

/** UTF-8 text of a message, or undefined when oversized, not valid UTF-8, or containing NUL. */
function decodeMessage(msg: Buffer): string | undefined {
  if (msg.length === 0 || msg.length > MAX_MESSAGE_BYTES) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(msg);
  } catch {
    return undefined;
  }
  return text.includes('\0') ? undefined : text;
}

/** saslname decoding: '=2C' → ',', '=3D' → '='; any other '=' (and empty names) are invalid. */
function decodeSaslName(s: string): string | undefined {
  if (s.length === 0) return undefined;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch !== '=') {
      out += ch;
      continue;
    }
    const code = s.slice(i + 1, i + 3);
    if (code === '2C') out += ',';
    else if (code === '3D') out += '=';
    else return undefined;
    i += 2;
  }
  return out;
}

/** printable = %x21-2B / %x2D-7E (no comma) — the nonce alphabet. */
const NONCE_RE = /^[\x21-\x2b\x2d-\x7e]+$/;
/** cb-name = 1*(ALPHA / DIGIT / "." / "-") */
const CB_NAME_RE = /^[A-Za-z0-9.-]+$/;
/** attr-val = ALPHA "=" value; the comma split already excludes ','. */
const EXTENSION_RE = /^[A-Za-z]=.+$/s;

function fail(condition: SaslFailureCondition, scramError?: ScramServerError, text?: string): { failure: SaslFailure } {
  const failure: SaslFailure = { condition };
  if (text !== undefined) failure.text = text;
  if (scramError !== undefined) failure.scramError = scramError;
  return { failure };
}

// ---------------------------------------------------------------------------
// Server

export interface ScramServerOptions {
  hash: ScramHash;
  /** True when the client selected the -PLUS variant of the mechanism. */
  plus: boolean;
  /** Credentials for a username (the caller normalises it); undefined when the user doesn't exist. */
  lookup: (username: string) => Promise<ScramCredentials | undefined>;
  /** TLS channel-binding data for a type ('tls-exporter', 'tls-server-end-point'), or undefined if unavailable. */
  channelBinding: (type: string) => Buffer | undefined;
  /** Channel-binding types the server advertised on this connection (XEP-0440); empty when -PLUS isn't offered. */
  supportedCbTypes: readonly string[];
  /**
   * Types accepted from the client: the advertised ones plus unadvertised compatibility types
   * (e.g. tls-unique on TLS 1.3 for clients that know no other). Defaults to `supportedCbTypes`.
   */
  acceptedCbTypes?: readonly string[];
  /**
   * Whether the server advertised any -PLUS mechanism on this connection, for the 'y' flag check
   * (RFC 5802 §6). Defaults to `supportedCbTypes.length > 0`.
   */
  plusAdvertised?: boolean;
  /** XEP-0474: the mechanism list and XEP-0440 channel-binding list advertised, to add 'h=' to server-first. */
  downgradeProtection?: { mechanisms: readonly string[]; cbTypes?: readonly string[] };
  /** Iteration count shown for unknown users; set it to what real users get so the two look alike. Default 4096. */
  unknownUserIterations?: number;
  /**
   * Secret for the fake salts of unknown users. Default: random per process — pass a persistent
   * server secret so a fake salt doesn't change across restarts while real ones stay put.
   */
  unknownUserSecret?: Buffer;
  /** Server nonce part; tests inject fixed values. Default: 18 random bytes, base64. */
  nonceFactory?: () => string;
}

export interface ScramSuccess {
  /** server-final-message ('v=...'), to send as additional data with <success/>. */
  success: Buffer;
  /** The authentication identity as the client sent it (decoded saslname, not normalised). */
  username: string;
  /** The requested authorization identity, if any: the caller decides whether to allow it. */
  authzid?: string;
}

type State =
  | { phase: 'initial' }
  /** clientFirst is awaiting the lookup. */
  | { phase: 'pending' }
  | {
      phase: 'challenged';
      gs2Header: string;
      cbData: Buffer;
      clientFirstBare: string;
      serverFirst: string;
      nonce: string;
      username: string;
      authzid: string | undefined;
      storedKey: Buffer;
      serverKey: Buffer;
      /** Unknown user: carry on with fake keys so the exchange looks the same, then always fail. */
      fake: boolean;
    }
  | { phase: 'done' };

/**
 * One SCRAM exchange (one per authentication attempt). Never throws on client input:
 * every problem is reported as `{ failure }`, after which the exchange is over.
 */
export class ScramServer {
  readonly hash: ScramHash;
  readonly plus: boolean;
  #opts: ScramServerOptions;
  #state: State = { phase: 'initial' };

  constructor(opts: ScramServerOptions) {
    this.hash = opts.hash;
    this.plus = opts.plus;
    this.#opts = opts;
    if (opts.unknownUserIterations !== undefined) checkIterations(opts.unknownUserIterations);
  }

  get mechanism(): string {
    return scramMechanismName(this.hash, this.plus);
  }

  /** Handles the client-first-message; answers the server-first-message as the challenge. */
  async clientFirst(msg: Buffer): Promise<{ challenge: Buffer } | { failure: SaslFailure }> {
    if (this.#state.phase !== 'initial') return this.#abort('malformed-request', 'other-error', 'Unexpected client-first-message');
    // 'done' until the challenge is ready, so any failure below ends the exchange.
    this.#state = { phase: 'done' };

    const text = decodeMessage(msg);
    if (text === undefined) return fail('malformed-request', 'invalid-encoding', 'Invalid encoding');
    const parts = text.split(',');
    const [flag, authzField, userField, nonceField] = parts;
    if (flag === undefined || authzField === undefined || userField === undefined || nonceField === undefined) {
      return fail('malformed-request', 'invalid-encoding', 'Missing attributes');
    }

    // gs2-header (RFC 5802 §7): gs2-cbind-flag "," [authzid] ","
    let cbType: string | undefined;
    if (flag.startsWith('p=')) {
      cbType = flag.slice(2);
      if (!CB_NAME_RE.test(cbType)) return fail('malformed-request', 'invalid-encoding', 'Invalid channel-binding name');
    } else if (flag !== 'n' && flag !== 'y') {
      return fail('malformed-request', 'invalid-encoding', 'Invalid GS2 header');
    }
    let authzid: string | undefined;
    if (authzField !== '') {
      authzid = authzField.startsWith('a=') ? decodeSaslName(authzField.slice(2)) : undefined;
      if (authzid === undefined) return fail('malformed-request', 'invalid-encoding', 'Invalid authorization identity');
    }

    // client-first-message-bare: [reserved-mext ","] username "," nonce ["," extensions]
    if (userField.startsWith('m=')) {
      // RFC 5802 §5.1: a server that doesn't know the mandatory extension MUST fail.
      return fail('malformed-request', 'extensions-not-supported', 'Mandatory extensions not supported');
    }
    if (!userField.startsWith('n=')) return fail('malformed-request', 'invalid-encoding', 'Missing username');
    const username = decodeSaslName(userField.slice(2));
    if (username === undefined) return fail('malformed-request', 'invalid-username-encoding', 'Invalid username encoding');
    if (!nonceField.startsWith('r=')) return fail('malformed-request', 'invalid-encoding', 'Missing nonce');
    const clientNonce = nonceField.slice(2);
    if (!NONCE_RE.test(clientNonce)) return fail('malformed-request', 'invalid-encoding', 'Invalid nonce');
    for (const ext of parts.slice(4)) {
      if (!EXTENSION_RE.test(ext)) return fail('malformed-request', 'invalid-encoding', 'Invalid attribute');
    }

    // Channel binding (RFC 5802 §6, XEP-0440). Checked before the user lookup, so it leaks nothing about users.
    let cbData = Buffer.alloc(0);
    if (this.plus) {
      if (cbType === undefined) {
        return fail('malformed-request', 'other-error', 'Channel binding is required with a -PLUS mechanism');
      }
      const data = (this.#opts.acceptedCbTypes ?? this.#opts.supportedCbTypes).includes(cbType) ? this.#opts.channelBinding(cbType) : undefined;
      if (data === undefined) {
        return fail('not-authorized', 'unsupported-channel-binding-type', 'Unsupported channel-binding type');
      }
      cbData = Buffer.from(data);
    } else if (cbType !== undefined) {
      return fail('malformed-request', 'channel-binding-not-supported', 'Channel binding requires a -PLUS mechanism');
    } else if (flag === 'y' && (this.#opts.plusAdvertised ?? this.#opts.supportedCbTypes.length > 0)) {
      // The client can do channel binding but didn't see -PLUS, which we did offer: the list was stripped.
      return fail('not-authorized', 'server-does-support-channel-binding', 'Channel binding downgrade detected');
    }

    let creds: ScramCredentials | undefined;
    this.#state = { phase: 'pending' };
    try {
      creds = await this.#opts.lookup(username);
    } catch {
      return this.#abort('temporary-auth-failure', 'other-error');
    }
    // A call that arrived while the lookup was pending has already ended the exchange.
    if (this.#state.phase !== 'pending') return this.#abort('malformed-request', 'other-error', 'Unexpected message order');
    this.#state = { phase: 'done' };

    let salt: Buffer;
    let iterations: number;
    let storedKey: Buffer;
    let serverKey: Buffer;
    const fake = creds === undefined;
    if (creds === undefined) {
      // Unknown user: a stable per-username fake salt and the normal iteration count, so probing the
      // challenge can't tell unknown from known users; the final step then fails as for a wrong password.
      const secret = this.#opts.unknownUserSecret ?? PROCESS_SECRET;
      salt = createHmac('sha256', secret).update(`scram-fake-salt\0${this.hash}\0${username}`).digest().subarray(0, DEFAULT_SALT_BYTES);
      iterations = this.#opts.unknownUserIterations ?? DEFAULT_ITERATIONS;
      storedKey = randomBytes(ALGORITHMS[this.hash].length);
      serverKey = randomBytes(ALGORITHMS[this.hash].length);
    } else {
      const decoded = decodeCredentials(this.hash, creds);
      if (!decoded) return fail('temporary-auth-failure', 'other-error');
      ({ salt, storedKey, serverKey } = decoded);
      iterations = creds.iterations;
    }

    const serverNonce = this.#opts.nonceFactory ? this.#opts.nonceFactory() : randomBytes(18).toString('base64');
    if (!NONCE_RE.test(serverNonce)) throw new TypeError('nonceFactory must return printable ASCII without commas');
    const nonce = clientNonce + serverNonce;

    let serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${iterations}`;
    const dp = this.#opts.downgradeProtection;
    if (dp) serverFirst += `,h=${downgradeProtectionHash(this.hash, dp.mechanisms, dp.cbTypes)}`;

    this.#state = {
      phase: 'challenged',
      gs2Header: `${flag},${authzField},`,
      cbData,
      clientFirstBare: parts.slice(2).join(','),
      serverFirst,
      nonce,
      username,
      authzid,
      storedKey,
      serverKey,
      fake,
    };
    return { challenge: Buffer.from(serverFirst, 'utf8') };
  }

  /** Handles the client-final-message; on success gives the server-final-message ('v=...'). */
  clientFinal(msg: Buffer): ScramSuccess | { failure: SaslFailure } {
    const state = this.#state;
    if (state.phase !== 'challenged') return this.#abort('malformed-request', 'other-error', 'Unexpected client-final-message');
    this.#state = { phase: 'done' };

    const text = decodeMessage(msg);
    if (text === undefined) return fail('malformed-request', 'invalid-encoding', 'Invalid encoding');
    // client-final-message = channel-binding "," nonce ["," extensions] "," proof
    const parts = text.split(',');
    const [cbField, nonceField] = parts;
    const proofField = parts[parts.length - 1];
    if (parts.length < 3 || cbField === undefined || nonceField === undefined || proofField === undefined) {
      return fail('malformed-request', 'invalid-encoding', 'Missing attributes');
    }
    if (!cbField.startsWith('c=') || !nonceField.startsWith('r=') || !proofField.startsWith('p=')) {
      return fail('malformed-request', 'invalid-encoding', 'Missing or misordered attributes');
    }
    for (const ext of parts.slice(2, -1)) {
      if (!EXTENSION_RE.test(ext)) return fail('malformed-request', 'invalid-encoding', 'Invalid attribute');
    }
    const cbInput = decodeBase64(cbField.slice(2));
    const proof = decodeBase64(proofField.slice(2));
    if (cbInput === undefined || proof === undefined) return fail('malformed-request', 'invalid-encoding', 'Invalid base64');
    if (proof.length !== ALGORITHMS[this.hash].length) return fail('malformed-request', 'invalid-encoding', 'Invalid proof length');
    if (nonceField.slice(2) !== state.nonce) return fail('not-authorized', 'other-error', 'Nonce mismatch');

    // AuthMessage over the exact bytes exchanged (RFC 5802 §3).
    const withoutProof = text.slice(0, text.length - proofField.length - 1);
    const authMessage = `${state.clientFirstBare},${state.serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.hash, state.storedKey, authMessage);
    const clientKey = xor(proof, clientSignature);
    const proofOk = timingSafeEqual(digest(this.hash, clientKey), state.storedKey);

    // c= must repeat the GS2 header (so a flag rewritten by a MITM is caught) plus the channel-binding data.
    const expectedCb = Buffer.concat([Buffer.from(state.gs2Header, 'utf8'), state.cbData]);
    const cbOk = cbInput.length === expectedCb.length && timingSafeEqual(cbInput, expectedCb);
    if (!cbOk) return fail('not-authorized', 'channel-bindings-dont-match', 'Channel bindings do not match');
    // Unknown users get exactly the wrong-password failure.
    if (!proofOk || state.fake) return fail('not-authorized', 'invalid-proof');

    const serverSignature = hmac(this.hash, state.serverKey, authMessage);
    const result: ScramSuccess = {
      success: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'),
      username: state.username,
    };
    if (state.authzid !== undefined) result.authzid = state.authzid;
    return result;
  }

  #abort(condition: SaslFailureCondition, scramError: ScramServerError, text?: string): { failure: SaslFailure } {
    this.#state = { phase: 'done' };
    return fail(condition, scramError, text);
  }
}
