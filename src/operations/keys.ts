// `jabberx rotate-key`: the keys of encryption at rest, also while the server runs.
import type { OperationsDeps } from './deps.ts';

/** A new master key (base64; read by the CLI from its provider), or a new data key for new writes. */
export type KeyRotation = { dataKey: true } | { newKey: string };

export async function rotateKey(deps: OperationsDeps, rotation: KeyRotation): Promise<{ activeDataKey: number } | { rotated: true }> {
  if ('dataKey' in rotation) return { activeDataKey: await deps.storage.rotateDataKey() };
  const key = Buffer.from(rotation.newKey, 'base64');
  try {
    await deps.storage.rotateMasterKey(key);
  } finally {
    key.fill(0);
  }
  deps.log.info('master key rotated');
  return { rotated: true };
}
