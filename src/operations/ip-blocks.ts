// `jabberx block`, `unblock`, `blocks`: IP address and range blocks added at run time, kept in the
// store across restarts (configured blocks stay in the configuration).
import { StreamError } from '../core/errors.ts';
import type { KeyValueStore } from '../core/storage.ts';
import { SERVER_SCOPE, type OperationsDeps } from './deps.ts';

export interface BlockChange {
  changed: boolean;
  /** Open connections the block ended. */
  closed: number;
}

function blockStore(deps: OperationsDeps): KeyValueStore<string[]> {
  return deps.storage.keyval<string[]>(SERVER_SCOPE, 'ip-blocks');
}

/** Puts the stored run-time blocks in force (at start, after the configured ones). */
export async function loadStoredBlocks(deps: OperationsDeps): Promise<void> {
  for (const rule of (await blockStore(deps).get('_')) ?? []) deps.blocks.add(rule);
}

export async function changeBlock(deps: OperationsDeps, command: 'block' | 'unblock', rule: string): Promise<BlockChange> {
  const changed = command === 'block' ? deps.blocks.add(rule) : deps.blocks.remove(rule);
  const configured = new Set(deps.config.security.blocked_ips);
  await blockStore(deps).set('_', deps.blocks.list().filter((r) => !configured.has(r)));
  let closed = 0;
  if (command === 'block') {
    // A block also ends connections already open from that range.
    for (const conn of [...deps.connections()]) {
      if (deps.blocks.isBlocked(conn.peerAddress)) {
        conn.close(new StreamError('policy-violation', 'Your address is blocked'));
        closed++;
      }
    }
  }
  deps.log.info({ command, closed }, 'IP block list changed');
  return { changed, closed };
}

/** The blocks in force: configured, then run-time ones. */
export function listBlocks(deps: OperationsDeps): string[] {
  return deps.blocks.list();
}
