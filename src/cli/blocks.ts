// `jabberx block`, `unblock`, `blocks`: run-time IP blocks, on the running server or in the store.
import { parseBlockRule } from '../core/ip-blocks.ts';
import type { Command, CommandContext } from './command.ts';
import { UsageError } from './errors.ts';
import { withOperations } from './operate.ts';

async function changeBlock(command: 'block' | 'unblock', { rest, config }: CommandContext): Promise<number> {
  const cfg = config();
  const rule = rest[0];
  if (!rule) throw new UsageError(`${command} needs an IP address or CIDR range, e.g. 203.0.113.0/24`);
  try {
    parseBlockRule(rule);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { r, live } = await withOperations(cfg, async (run, live) => ({ r: await run(command, { rule }), live }));
  const done = `${command === 'block' ? 'blocked' : 'unblocked'} ${rule}${r.changed ? '' : ' (no change)'}`;
  // A stopped server applies the stored list when it starts.
  process.stdout.write(live ? `${done}${r.closed ? `; closed ${r.closed} connection(s)` : ''}\n` : `${done} (applies when the server starts)\n`);
  return 0;
}

/** `block ADDRESS|CIDR`: refuse connections from it, at once when the server runs. */
export const block: Command = (ctx) => changeBlock('block', ctx);

/** `unblock ADDRESS|CIDR`. */
export const unblock: Command = (ctx) => changeBlock('unblock', ctx);

/** `blocks`: the configured blocks and the run-time ones. */
export const listBlocks: Command = async ({ config }) => {
  const rules = await withOperations(config(), (run) => run('blocks', {}));
  for (const r of rules) process.stdout.write(`${r}\n`);
  return 0;
};
