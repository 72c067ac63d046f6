// Password preparation for SASL (SCRAM, PLAIN): the PRECIS OpaqueString profile (RFC 8265 §4.2), which replaces
// SASLprep (RFC 4013) per RFC 8265 §4.2 / RFC 7677.
import { enforceOpaqueString, PrecisError } from './precis.ts';

export { PrecisError };

/**
 * Prepares a password: non-ASCII spaces become U+0020, the result is NFC-normalized, and control, unassigned and
 * other disallowed code points, or an empty password, are rejected with a PrecisError. The error message never
 * includes the password.
 */
export function preparePassword(p: string): string {
  return enforceOpaqueString(p);
}
