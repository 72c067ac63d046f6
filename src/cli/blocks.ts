// `jabberx block`, `unblock`, `blocks`: run-time IP blocks, on the running server or in the store.
import type { ServerConfig } from '../core/config.ts';
import { IpBlocks, parseBlockRule } from '../core/ip-blocks.ts';
import type { KeyValueStore } from '../core/storage.ts';
import { SERVER_SCOPE, controlSocketPath, openStorage } from '../server.ts';
import { controlRequest } from '../transports/control-socket.ts';
import type { Command, CommandContext } from './command.ts';
import { UsageError } from './errors.ts';

/** Opens the store of server-wide data (run-time IP blocks) when no server is running. */
async function withServerStore<T>(cfg: ServerConfig, fn: (store: KeyValueStore<string[]>) => Promise<T>): Promise<T> {
  const storage = openStorage(cfg);
  await storage.open();
  try {
    return await fn(storage.keyval<string[]>(SERVER_SCOPE, 'ip-blocks'));
  } finally {
    await storage.close();
  }
}

async function changeBlock(command: 'block' | 'unblock', { rest, config }: CommandContext): Promise<number> {
  const cfg = config();
  const rule = rest[0];
  if (!rule) throw new UsageError(`${command} needs an IP address or CIDR range, e.g. 203.0.113.0/24`);
  try {
    parseBlockRule(rule);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const reply = await controlRequest(controlSocketPath(cfg), { command, args: { rule } });
  if (reply && !reply.ok) throw new Error(reply.error);
  if (reply) {
    const r = reply.result as { changed: boolean; closed: number };
    process.stdout.write(`${command === 'block' ? 'blocked' : 'unblocked'} ${rule}${r.changed ? '' : ' (no change)'}${r.closed ? `; closed ${r.closed} connection(s)` : ''}\n`);
    return 0;
  }
  // No server running: change the stored list directly; it applies at the next start.
  const changed = await withServerStore(cfg, async (store) => {
    const blocks = new IpBlocks((await store.get('_')) ?? []);
    const did = command === 'block' ? blocks.add(rule) : blocks.remove(rule);
    await store.set('_', blocks.list());
    return did;
  });
  process.stdout.write(`${command === 'block' ? 'blocked' : 'unblocked'} ${rule}${changed ? '' : ' (no change)'} (applies when the server starts)\n`);
  return 0;
}

/** `block ADDRESS|CIDR`: refuse connections from it, at once when the server runs. */
export const block: Command = (ctx) => changeBlock('block', ctx);

/** `unblock ADDRESS|CIDR`. */
export const unblock: Command = (ctx) => changeBlock('unblock', ctx);

/** `blocks`: the configured blocks and the run-time ones. */
export const listBlocks: Command = async ({ config }) => {
  const cfg = config();
  const reply = await controlRequest(controlSocketPath(cfg), { command: 'blocks', args: {} });
  if (reply && !reply.ok) throw new Error(reply.error);
  const rules = reply ? (reply.result as string[]) : [...cfg.security.blockedIps, ...(await withServerStore(cfg, async (s) => (await s.get('_')) ?? []))];
  for (const r of rules) process.stdout.write(`${r}\n`);
  return 0;
};
