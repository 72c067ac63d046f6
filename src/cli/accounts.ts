// `jabberx adduser` (incl. --batch), `passwd`, `deluser`, `disable`, `enable`, `list-users`:
// account management.
import { createInterface } from 'node:readline';
import type { ServerConfig } from '../core/config.ts';
import { parseJid, JidError } from '../core/jid.ts';
import { AccountError } from '../core/accounts.ts';
import type { Command } from './command.ts';
import { UsageError } from './errors.ts';
import { readSecret } from './prompt.ts';
import { withOperations, type RunOperation } from './operate.ts';

export function account(cfg: ServerConfig, arg: string | undefined): { host: string; user: string } {
  if (!arg) throw new UsageError('expected USER@HOST');
  let jid;
  try {
    jid = parseJid(arg);
  } catch (e) {
    if (e instanceof JidError) throw new UsageError(`${arg} is not a valid address: ${e.message}`);
    throw e;
  }
  if (!jid.local || jid.resource) throw new UsageError(`${arg}: expected USER@HOST (a bare address)`);
  if (!cfg.hosts.has(jid.domain)) throw new UsageError(`${jid.domain} is not a host of this server (hosts: ${[...cfg.hosts.keys()].join(', ')})`);
  return { host: jid.domain, user: jid.local };
}

/** Account operations, on the running server when there is one, else on the store (src/cli/operate.ts). */
export function withAccounts<T>(cfg: ServerConfig, fn: (run: RunOperation) => Promise<T>): Promise<T> {
  return withOperations(cfg, fn, { remoteError: (message) => new AccountError(message) });
}

/** `adduser --batch`: "user@host password" per line on stdin; several accounts are derived at once. */
async function addBatch(cfg: ServerConfig): Promise<number> {
  // The iterator is taken before anything is awaited: lines read meanwhile wait in it (readline
  // emits lines nobody listens to yet into the void, and a piped stdin is read at once).
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  let created = 0;
  let failed = 0;
  let lineNo = 0;
  await withAccounts(cfg, async (run) => {
    const inFlight = new Set<Promise<void>>();
    for await (const raw of { [Symbol.asyncIterator]: () => lines }) {
      const n = ++lineNo;
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      const sp = line.search(/\s/);
      const task = (async () => {
        try {
          if (sp < 0) throw new UsageError('expected "user@host password"');
          const { host, user } = account(cfg, line.slice(0, sp));
          await run('adduser', { host, user, password: line.slice(sp).trim() });
          created++;
        } catch (e) {
          failed++;
          process.stderr.write(`jabberx: line ${n}: ${(e as Error).message}\n`);
        }
      })();
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
      if (inFlight.size >= 16) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  });
  process.stdout.write(`created ${created} account(s)${failed ? `, ${failed} failed` : ''}\n`);
  return failed ? 1 : 0;
}

async function password(given: string | undefined, confirm: boolean): Promise<string> {
  if (given !== undefined) return given;
  const p = await readSecret('Password: ');
  if (confirm && process.stdin.isTTY) {
    const again = await readSecret('Repeat password: ');
    if (again !== p) throw new UsageError('the passwords do not match');
  }
  return p;
}

/** `adduser USER@HOST [--password P]`, or `adduser --batch`. */
export const addUser: Command = async ({ values, rest, config }) => {
  const cfg = config();
  if (values.batch) return addBatch(cfg);
  const { host, user } = account(cfg, rest[0]);
  const pw = await password(values.password, true);
  await withAccounts(cfg, (run) => run('adduser', { host, user, password: pw }));
  process.stdout.write(`created ${user}@${host}\n`);
  return 0;
};

/** `passwd USER@HOST [--password P]`. */
export const changePassword: Command = async ({ values, rest, config }) => {
  const cfg = config();
  const { host, user } = account(cfg, rest[0]);
  const pw = await password(values.password, true);
  await withAccounts(cfg, (run) => run('passwd', { host, user, password: pw }));
  process.stdout.write(`password changed for ${user}@${host}\n`);
  return 0;
};

/** `deluser USER@HOST`: the account and all its data. */
export const deleteUser: Command = async ({ rest, config }) => {
  const cfg = config();
  const { host, user } = account(cfg, rest[0]);
  await withAccounts(cfg, (run) => run('deluser', { host, user }));
  process.stdout.write(`deleted ${user}@${host} and all its data\n`);
  return 0;
};

/** `disable USER@HOST`: suspends the account (its sessions end, logins are refused), keeping its data. */
export const disableUser: Command = async ({ rest, config }) => {
  const cfg = config();
  const { host, user } = account(cfg, rest[0]);
  await withAccounts(cfg, (run) => run('disable', { host, user }));
  process.stdout.write(`disabled ${user}@${host}: its sessions ended and its logins are refused; its data is kept (jabberx enable ${user}@${host} reverses this)\n`);
  return 0;
};

/** `enable USER@HOST`: lifts a suspension. */
export const enableUser: Command = async ({ rest, config }) => {
  const cfg = config();
  const { host, user } = account(cfg, rest[0]);
  await withAccounts(cfg, (run) => run('enable', { host, user }));
  process.stdout.write(`enabled ${user}@${host}\n`);
  return 0;
};

/** `revoke-tokens USER@HOST`: the account's FAST login tokens (XEP-0484). */
export const revokeTokens: Command = async ({ rest, config }) => {
  const cfg = config();
  const { host, user } = account(cfg, rest[0]);
  const { revoked } = await withAccounts(cfg, (run) => run('revoke-tokens', { host, user }));
  process.stdout.write(`revoked ${revoked} login token(s) of ${user}@${host}\n`);
  return 0;
};

/** `list-users [HOST]`: all hosts when HOST is omitted; suspended accounts are marked. */
export const listUsers: Command = async ({ rest, config }) => {
  const cfg = config();
  const hosts = rest[0] ? [rest[0]] : [...cfg.hosts.keys()];
  for (const h of hosts) if (!cfg.hosts.has(h)) throw new UsageError(`${h} is not a host of this server`);
  await withAccounts(cfg, async (run) => {
    for (const h of hosts) {
      const disabled = new Set(await run('disabled-users', { host: h }));
      for (const u of await run('list-users', { host: h })) process.stdout.write(`${u}@${h}${disabled.has(u) ? ' (disabled)' : ''}\n`);
    }
  });
  return 0;
};
