// What counts as an e-mail address here: one the mail server can take (RFC 5321 §4.5.3.1 sizes),
// in the common dot-atom form; quoted local parts and address literals are refused as typos.

const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** The address trimmed, or a readable reason it can't be used. */
export function checkEmailAddress(raw: string): { address: string } | { error: string } {
  const address = raw.trim();
  if (address === '') return { error: 'Enter an e-mail address.' };
  if (address.length > 254) return { error: 'That e-mail address is too long.' };
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (at < 1 || local.length > 64 || !LOCAL.test(local)) return { error: 'That does not look like an e-mail address (name@example.org).' };
  const labels = domain.split('.');
  // Internationalized domains go in their xn-- form, as mail servers exchange them.
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels[labels.length - 1] ?? '')) {
    return { error: 'That does not look like an e-mail address (name@example.org).' };
  }
  return { address };
}

/** The form the lookup hash is computed on: mail providers treat case as insignificant. */
export function normalizeEmail(address: string): string {
  return address.trim().toLowerCase();
}
