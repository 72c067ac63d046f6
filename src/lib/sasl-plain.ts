// SASL PLAIN message parsing (RFC 4616 §2). Checking the password is the caller's job (e.g. verifyPassword in scram.ts).
import type { SaslFailure } from './scram.ts';

/** RFC 4616 requires accepting up to 255 octets per field; allow more but keep it bounded. */
const MAX_FIELD_BYTES = 1024;

export interface PlainMessage {
  /** authcid: the authentication identity as sent (not normalised). */
  username: string;
  password: string;
  /** The requested authorization identity, if any: the caller decides whether to allow it. */
  authzid?: string;
}

/** message = [authzid] UTF8NUL authcid UTF8NUL passwd. Never throws on client input. */
export function parsePlain(msg: Buffer): PlainMessage | { failure: SaslFailure } {
  const malformed = { failure: { condition: 'malformed-request', text: 'Invalid PLAIN message' } } as const;
  const first = msg.indexOf(0);
  const second = first < 0 ? -1 : msg.indexOf(0, first + 1);
  // Exactly two NULs: a third would mean a NUL inside the password, which RFC 4616 forbids.
  if (first < 0 || second < 0 || msg.indexOf(0, second + 1) >= 0) return malformed;
  const fields = [msg.subarray(0, first), msg.subarray(first + 1, second), msg.subarray(second + 1)];
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const texts: string[] = [];
  for (const field of fields) {
    if (field.length > MAX_FIELD_BYTES) return malformed;
    try {
      texts.push(decoder.decode(field));
    } catch {
      return malformed;
    }
  }
  const [authzid = '', username = '', password = ''] = texts;
  if (username === '' || password === '') return malformed;
  const result: PlainMessage = { username, password };
  if (authzid !== '') result.authzid = authzid;
  return result;
}
