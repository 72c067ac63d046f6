// `jabberx throttle list` and `throttle clear ACCOUNT|ADDRESS`: who is slowed down or refused by
// the brute-force protection now. Its records live in the running server's memory only, so both
// need a running server.
import type { Command } from './command.ts';
import { UsageError } from './errors.ts';
import { withOperations } from './operate.ts';
import { throttleTarget, type ThrottleListing } from '../operations/throttle.ts';

const NEEDS_SERVER = 'failed-login records live in the running server\'s memory only';

function table(rows: string[][]): string[] {
  const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
  return rows.map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd());
}

function render(l: ThrottleListing): string {
  if (l.accounts.length === 0 && l.addresses.length === 0) return 'no failed logins recorded: nothing is throttled\n';
  const lines: string[] = [];
  const state = (locked: boolean, word: string) => (locked ? word : '');
  if (l.accounts.length) {
    lines.push('accounts (log id: how the log names the account):');
    lines.push(...table(l.accounts.map((a) => [a.account, `log id ${a.hash}`, `${a.failures} failed`, state(a.locked, 'LOCKED'), `until ${a.until}`])));
  }
  if (l.addresses.length) {
    lines.push('addresses (IPv6: per /64):');
    lines.push(...table(l.addresses.map((a) => [a.address, `${a.failures} failed`, state(a.locked, 'REFUSED'), `until ${a.until}`])));
  }
  return `${lines.join('\n')}\n`;
}

export const throttle: Command = async ({ rest, config }) => {
  const [mode, target, ...extra] = rest;
  if (mode === 'list' && target === undefined) {
    const listing = await withOperations(config(), (run) => run('throttle-list', {}), { needsServer: NEEDS_SERVER });
    process.stdout.write(render(listing));
    return 0;
  }
  if (mode !== 'clear' || target === undefined || extra.length > 0) throw new UsageError('usage: jabberx throttle list | throttle clear ACCOUNT|ADDRESS');
  try {
    throttleTarget(target);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const r = await withOperations(config(), (run) => run('throttle-clear', { target }), { needsServer: NEEDS_SERVER });
  process.stdout.write(`cleared the failed logins of ${r.cleared}; it may log in again\n`);
  return 0;
};
