// `jabberx adduser` (incl. --batch), `passwd`, `deluser`, `list-users`: account management.
import { createInterface } from 'node:readline';
import type { ServerConfig } from '../core/config.ts';
import { parseJid, JidError } from '../core/jid.ts';
import { AccountError } from '../core/accounts.ts';
import { Server, controlSocketPath } from '../server.ts';
import { controlRequest } from '../transports/control-socket.ts';
import type { Command } from './command.ts';
import { UsageError } from './errors.ts';
import { readSecret } from './prompt.ts';

function account(cfg: ServerConfig, arg: string | undefined): { host: string; user: string } {
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

interface AccountOps {
  create(host: string, user: string, password: string): Promise<void>;
  setPassword(host: string, user: string, password: string): Promise<void>;
  delete(host: string, user: string): Promise<void>;
  list(host: string): Promise<string[]>;
}

/**
 * Account operations go through the running server when there is one (so it ends sessions and
 * forgets cached state at once), else straight to the store.
 */
async function withAccounts<T>(cfg: ServerConfig, fn: (a: AccountOps) => Promise<T>): Promise<T> {
  const sock = controlSocketPath(cfg);
  const live = async (command: string, args: Record<string, unknown>): Promise<unknown> => {
    const reply = await controlRequest(sock, { command, args });
    if (!reply) throw new Error('the server stopped');
    if (!reply.ok) throw new AccountError(reply.error);
    return reply.result;
  };
  if (await controlRequest(sock, { command: 'list-users', args: { host: [...cfg.hosts.keys()][0] } })) {
    return fn({
      create: async (host, user, password) => void (await live('adduser', { host, user, password })),
      setPassword: async (host, user, password) => void (await live('passwd', { host, user, password })),
      delete: async (host, user) => void (await live('deluser', { host, user })),
      list: async (host) => (await live('list-users', { host })) as string[],
    });
  }
  const server = new Server(cfg);
  await server.start({ listen: false });
  try {
    return await fn({
      create: async (host, user, password) => {
        await server.accounts.create(host, user, password);
        await server.host(host)?.hooks.emit('user/created', { host, user });
      },
      setPassword: (host, user, password) => server.accounts.setPassword(host, user, password),
      delete: (host, user) => server.deleteAccount(host, user),
      list: (host) => server.accounts.list(host),
    });
  } finally {
    await server.stop();
  }
}

/** `adduser --batch`: "user@host password" per line on stdin; several accounts are derived at once. */
async function addBatch(cfg: ServerConfig): Promise<number> {
  const rl = createInterface({ input: process.stdin });
  let created = 0;
  let failed = 0;
  let lineNo = 0;
  await withAccounts(cfg, async (a) => {
    const inFlight = new Set<Promise<void>>();
    for await (const raw of rl) {
      const n = ++lineNo;
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      const sp = line.search(/\s/);
      const task = (async () => {
        try {
          if (sp < 0) throw new UsageError('expected "user@host password"');
          const { host, user } = account(cfg, line.slice(0, sp));
          await a.create(host, user, line.slice(sp).trim());
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
  await withAccounts(cfg, (a) => a.create(host, user, pw));
  process.stdout.write(`created ${user}@${host}\n`);
  return 0;
};

/** `passwd USER@HOST [--password P]`. */
export const changePassword: Command = async ({ values, rest, config }) => {
  const cfg = config();
  const { host, user } = account(cfg, rest[0]);
  const pw = await password(values.password, true);
  await withAccounts(cfg, (a) => a.setPassword(host, user, pw));
  process.stdout.write(`password changed for ${user}@${host}\n`);
  return 0;
};

/** `deluser USER@HOST`: the account and all its data. */
export const deleteUser: Command = async ({ rest, config }) => {
  const cfg = config();
  const { host, user } = account(cfg, rest[0]);
  await withAccounts(cfg, (a) => a.delete(host, user));
  process.stdout.write(`deleted ${user}@${host} and all its data\n`);
  return 0;
};

/** `list-users [HOST]`: all hosts when HOST is omitted. */
export const listUsers: Command = async ({ rest, config }) => {
  const cfg = config();
  const hosts = rest[0] ? [rest[0]] : [...cfg.hosts.keys()];
  for (const h of hosts) if (!cfg.hosts.has(h)) throw new UsageError(`${h} is not a host of this server`);
  await withAccounts(cfg, async (a) => {
    for (const h of hosts) for (const u of await a.list(h)) process.stdout.write(`${u}@${h}\n`);
  });
  return 0;
};
