// RFC 5802 §3 and §5: the client side of SCRAM-SHA-1 for the load generator (gs2 header "n,,":
// no channel binding), plus the server-side credentials (StoredKey, ServerKey) that the bench
// writes straight into Prosody's and ejabberd's account tables.
import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export interface ScramKeys {
  clientKey: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha1', key).update(data).digest();
}

function keysFromSalted(salted: Buffer): ScramKeys {
  const clientKey = hmac(salted, 'Client Key');
  return {
    clientKey,
    storedKey: createHash('sha1').update(clientKey).digest(),
    serverKey: hmac(salted, 'Server Key'),
  };
}

/** Hi() of RFC 5802 §2.2 (PBKDF2-HMAC-SHA-1) and the keys derived from it. */
export function deriveKeys(password: string, salt: Buffer, iterations: number): ScramKeys {
  return keysFromSalted(pbkdf2Sync(password, salt, iterations, 20, 'sha1'));
}

/** The same on the libuv thread pool, for pre-computing thousands of accounts. */
export async function deriveKeysAsync(password: string, salt: Buffer, iterations: number): Promise<ScramKeys> {
  return keysFromSalted(await pbkdf2Async(password, salt, iterations, 20, 'sha1'));
}

/** RFC 5802 §5.1: "=" and "," in the user name are escaped as =3D and =2C. */
function saslName(user: string): string {
  return user.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}

/**
 * One SCRAM-SHA-1 exchange. Real clients cache the derived keys per (password, salt, iterations)
 * (RFC 5802 §5.1 allows it); the bench does the same through `cache` so a repeated login costs
 * the generator a few HMACs instead of 4096 PBKDF2 rounds, leaving the CPU to the server.
 */
export class ScramClient {
  #user: string;
  #password: string;
  #cache: Map<string, ScramKeys> | undefined;
  #clientNonce: string;
  #firstBare = '';
  #serverSignature: Buffer | undefined;

  constructor(user: string, password: string, cache?: Map<string, ScramKeys>, nonce?: string) {
    this.#user = user;
    this.#password = password;
    this.#cache = cache;
    this.#clientNonce = nonce ?? randomBytes(18).toString('base64');
  }

  /** client-first-message, base64 for the <auth/> element. */
  first(): string {
    this.#firstBare = `n=${saslName(this.#user)},r=${this.#clientNonce}`;
    return Buffer.from(`n,,${this.#firstBare}`).toString('base64');
  }

  /** client-final-message (base64) from the server-first-message (base64). */
  final(serverFirstB64: string): string {
    const serverFirst = Buffer.from(serverFirstB64, 'base64').toString();
    const attrs = new Map<string, string>();
    for (const part of serverFirst.split(',')) attrs.set(part.slice(0, 1), part.slice(2));
    const nonce = attrs.get('r');
    const saltB64 = attrs.get('s');
    const iterations = Number(attrs.get('i'));
    if (!nonce || !nonce.startsWith(this.#clientNonce) || !saltB64 || !Number.isInteger(iterations) || iterations < 1) {
      throw new Error('malformed SCRAM server-first-message');
    }
    const cacheKey = `${this.#password}\0${saltB64}\0${iterations}`;
    let keys = this.#cache?.get(cacheKey);
    if (!keys) {
      keys = deriveKeys(this.#password, Buffer.from(saltB64, 'base64'), iterations);
      this.#cache?.set(cacheKey, keys);
    }
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.#firstBare},${serverFirst},${withoutProof}`;
    const proof = xor(keys.clientKey, hmac(keys.storedKey, authMessage));
    this.#serverSignature = hmac(keys.serverKey, authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`).toString('base64');
  }

  /** RFC 5802 §3: the client checks the server's signature, so the server knew the keys. */
  verify(successB64: string): boolean {
    const msg = Buffer.from(successB64, 'base64').toString();
    if (!msg.startsWith('v=') || !this.#serverSignature) return false;
    const v = Buffer.from(msg.slice(2), 'base64');
    return v.length === this.#serverSignature.length && timingSafeEqual(v, this.#serverSignature);
  }
}
