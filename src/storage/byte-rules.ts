// Rules every byte backend applies the same way (src/storage/sqlite.ts, memory.ts).

/** Two stored values are the same bytes (undefined: no record). For conditional writes. */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** An archive timestamp in whole ms; anything else is refused. */
export function checkWhen(ms: number): number {
  if (!Number.isFinite(ms)) throw new RangeError('storage: invalid archive date');
  return Math.trunc(ms);
}
