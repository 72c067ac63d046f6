// Operator-facing failures of encryption at rest: a master key that is missing, malformed,
// unsafely stored or wrong for the database. Messages say what to do and never hold key bytes.

/** The master key can't be loaded or doesn't open the keyring; start-up must stop, no data touched. */
export class KeyError extends Error {
  override name = 'KeyError';
}
