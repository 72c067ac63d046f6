// The `jabberx` command line: start the server and manage accounts.
import { parseArgs } from 'node:util';
import { loadConfig, type ServerConfig } from './core/config.ts';
import { ConfigError } from './core/errors.ts';
import { parseJid, JidError } from './core/jid.ts';
import { AccountError } from './core/accounts.ts';
import { validateHostModules } from './core/module-loader.ts';
import { Server, SERVER_SCOPE, controlSocketPath, openStorage } from './server.ts';
import { IpBlocks, parseBlockRule } from './core/ip-blocks.ts';
import { KeyError } from './storage/encryption/key-error.ts';
import { generateKey, loadMasterKey, writeNewKeyFile } from './storage/encryption/key-providers.ts';
import { parsePeriod } from './core/options.ts';
import type { KeyValueStore } from './core/storage.ts';
import { controlRequest } from './transports/control-socket.ts';
import { createInterface } from 'node:readline';
import { builtinModuleNames, moduleRegistry } from './modules/registry.ts';
import { readSecret } from './cli/prompt.ts';
import { runAudit } from './cli/audit.ts';
import { VERSION } from './version.ts';

const EXIT_USAGE = 64;
const EXIT_CONFIG = 78;

class UsageError extends Error {}

const USAGE = `jabberx ${VERSION}: a privacy-first XMPP server

Usage: jabberx <command> [--config FILE] [options]

Commands:
  start                         Run the server
  check-config                  Validate the configuration and exit
  adduser USER@HOST [--password P]   Create an account (prompts for the password when omitted)
  adduser --batch               Create accounts from "user@host password" lines on stdin
  passwd USER@HOST [--password P]    Change an account's password
  deluser USER@HOST             Delete an account and all its data (the address is free at once)
  list-users [HOST]             List accounts (all hosts when HOST is omitted)
  block ADDRESS|CIDR            Refuse connections from an address or range (IPv4/IPv6), at once
  unblock ADDRESS|CIDR          Lift a block
  blocks                        List blocked addresses and ranges
  status                        Counts of the running server: sessions, memory, uptime
  audit [--marker TEXT]...      Scan data_dir and logs for plaintext personal data (the markers,
                                IP- and e-mail-shaped strings); exit 1 when anything is found
  keygen [--out FILE]           Make a new random master key (printed, or written with mode 0600)
  rotate-key --new-key-file F | --new-key-env VAR | --new-key-command CMD
                                Re-wrap the data keys under a new master key (server may run)
  rotate-key --data-key         Start a new data key for new writes
  debug on [--for 1h] | off | status
                                Verbose logging into its own file on the running server;
                                off (or the end of --for) deletes that file

Options:
  --config FILE                 Configuration file (default: embedded defaults serving localhost)
  --help, --version
`;

function config(path: string | undefined): ServerConfig {
  return loadConfig(path, { knownModules: builtinModuleNames, defaultModules: builtinModuleNames });
}

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

/**
 * V8 flags can't change once the heap exists, so `start` re-executes itself (same process, same
 * PID) with the configured young-generation size. Skipped when the operator set the flag, when a
 * parent talks to us over IPC (tests and supervisors keep their channel), or when turned off.
 */
function relaunchWithHeapTuning(cfg: ServerConfig): void {
  const mib = Math.round(cfg.limits.v8SemiSpace / (1 << 20));
  if (mib <= 0 || process.send !== undefined || process.env['JABBERX_HEAP_TUNED'] !== undefined) return;
  if (process.execArgv.some((a) => a.startsWith('--max-semi-space-size')) || !process.execve) return;
  process.execve(
    process.execPath,
    [process.execPath, `--max-semi-space-size=${mib}`, ...process.execArgv, ...process.argv.slice(1)],
    { ...process.env, JABBERX_HEAP_TUNED: '1' },
  );
}

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

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      password: { type: 'string', short: 'p' },
      batch: { type: 'boolean' },
      for: { type: 'string' },
      out: { type: 'string' },
      marker: { type: 'string', multiple: true },
      'new-key-file': { type: 'string' },
      'new-key-env': { type: 'string' },
      'new-key-command': { type: 'string' },
      'data-key': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.version) {
    process.stdout.write(`jabberx ${VERSION}\n`);
    return 0;
  }
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : EXIT_USAGE;
  }
  switch (command) {
    case 'start': {
      const cfg = config(values.config);
      relaunchWithHeapTuning(cfg);
      const server = new Server(cfg);
      // Crash output goes through the logger too, so it is scrubbed of addresses like every log line.
      const crash = (err: unknown) => {
        server.log.fatal({ err }, 'crashed');
        server.log.flush();
        setTimeout(() => process.exit(70), 100);
      };
      process.on('uncaughtException', crash);
      process.on('unhandledRejection', crash);
      await server.start();
      process.send?.({ type: 'ready', ports: server.ports });
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        process.once('disconnect', stop);
      });
      await server.stop();
      // Lingering client sockets or the parent's IPC channel must not keep a stopped server alive.
      process.disconnect?.();
      setTimeout(() => process.exit(0), 1000).unref();
      return 0;
    }
    case 'check-config': {
      const cfg = config(values.config);
      for (const [host, h] of cfg.hosts) validateHostModules(host, h, moduleRegistry);
      process.stdout.write(`${cfg.configPath ?? 'embedded defaults'}: OK (hosts: ${[...cfg.hosts.keys()].join(', ')})\n`);
      return 0;
    }
    case 'adduser': {
      const cfg = config(values.config);
      if (values.batch) return addBatch(cfg);
      const { host, user } = account(cfg, rest[0]);
      const pw = await password(values.password, true);
      await withAccounts(cfg, (a) => a.create(host, user, pw));
      process.stdout.write(`created ${user}@${host}\n`);
      return 0;
    }
    case 'passwd': {
      const cfg = config(values.config);
      const { host, user } = account(cfg, rest[0]);
      const pw = await password(values.password, true);
      await withAccounts(cfg, (a) => a.setPassword(host, user, pw));
      process.stdout.write(`password changed for ${user}@${host}\n`);
      return 0;
    }
    case 'deluser': {
      const cfg = config(values.config);
      const { host, user } = account(cfg, rest[0]);
      await withAccounts(cfg, (a) => a.delete(host, user));
      process.stdout.write(`deleted ${user}@${host} and all its data\n`);
      return 0;
    }
    case 'list-users': {
      const cfg = config(values.config);
      const hosts = rest[0] ? [rest[0]] : [...cfg.hosts.keys()];
      for (const h of hosts) if (!cfg.hosts.has(h)) throw new UsageError(`${h} is not a host of this server`);
      await withAccounts(cfg, async (a) => {
        for (const h of hosts) for (const u of await a.list(h)) process.stdout.write(`${u}@${h}\n`);
      });
      return 0;
    }
    case 'block':
    case 'unblock': {
      const cfg = config(values.config);
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
    case 'blocks': {
      const cfg = config(values.config);
      const reply = await controlRequest(controlSocketPath(cfg), { command: 'blocks', args: {} });
      if (reply && !reply.ok) throw new Error(reply.error);
      const rules = reply ? (reply.result as string[]) : [...cfg.security.blockedIps, ...(await withServerStore(cfg, async (s) => (await s.get('_')) ?? []))];
      for (const r of rules) process.stdout.write(`${r}\n`);
      return 0;
    }
    case 'debug': {
      const cfg = config(values.config);
      const mode = rest[0] ?? 'status';
      if (!['on', 'off', 'status'].includes(mode)) throw new UsageError('usage: jabberx debug on [--for 1h] | off | status');
      if (values.for !== undefined) {
        try {
          parsePeriod(values.for);
        } catch (e) {
          throw new UsageError(`--for: ${String(e)}`);
        }
      }
      const reply = await controlRequest(controlSocketPath(cfg), { command: 'debug', args: { mode, for: values.for } });
      if (!reply) throw new Error('no running server (debug logging is switched on a running server)');
      if (!reply.ok) throw new Error(reply.error);
      const r = reply.result as { enabled: boolean; until?: string; file: string };
      process.stdout.write(r.enabled ? `debug logging on, into ${r.file}${r.until ? ` until ${r.until}` : ''}\n` : 'debug logging off (no debug file)\n');
      return 0;
    }
    case 'status': {
      const cfg = config(values.config);
      const reply = await controlRequest(controlSocketPath(cfg), { command: 'status', args: {} });
      if (!reply) throw new Error('no running server');
      if (!reply.ok) throw new Error(reply.error);
      process.stdout.write(`${JSON.stringify(reply.result, null, 2)}\n`);
      return 0;
    }
    case 'audit': {
      const cfg = config(values.config);
      return runAudit(cfg, values.marker ?? [], (line) => process.stdout.write(`${line}\n`));
    }
    case 'keygen': {
      if (values.out) {
        const cfg = config(values.config);
        writeNewKeyFile(values.out, { dataDir: cfg.dataDir });
        process.stdout.write(`wrote a new master key to ${values.out} (mode 0600)\n`);
      } else {
        process.stdout.write(`${generateKey()}\n`);
      }
      return 0;
    }
    case 'rotate-key': {
      const cfg = config(values.config);
      const sources = [values['new-key-file'], values['new-key-env'], values['new-key-command']].filter((v) => v !== undefined);
      if (values['data-key'] ? sources.length > 0 : sources.length !== 1) {
        throw new UsageError('usage: jabberx rotate-key (--new-key-file F | --new-key-env VAR | --new-key-command CMD) | --data-key');
      }
      let args: Record<string, unknown>;
      if (values['data-key']) {
        args = { dataKey: true };
      } else {
        const spec = values['new-key-file'] !== undefined
          ? { provider: 'file' as const, file: values['new-key-file'] }
          : values['new-key-env'] !== undefined
            ? { provider: 'env' as const, env: values['new-key-env'] }
            : { provider: 'command' as const, command: values['new-key-command'] };
        args = { newKey: (await loadMasterKey(spec, { dataDir: cfg.dataDir })).toString('base64') };
      }
      const reply = await controlRequest(controlSocketPath(cfg), { command: 'rotate-key', args });
      if (reply && !reply.ok) throw new Error(reply.error);
      if (!reply) {
        // No server running: rotate in the store directly.
        const storage = openStorage(cfg);
        await storage.open();
        try {
          if (args['dataKey']) await storage.rotateDataKey();
          else await storage.rotateMasterKey(Buffer.from(String(args['newKey']), 'base64'));
        } finally {
          await storage.close();
        }
      }
      process.stdout.write(
        args['dataKey']
          ? 'new data key active for new writes; older data keys are kept for reading\n'
          : 'master key rotated: point storage.key_* at the new key before the next restart, and keep the old key for older backups\n',
      );
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}" (see jabberx --help)`);
  }
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof ConfigError || e instanceof KeyError) {
      process.stderr.write(`jabberx: ${e.message}\n`);
      process.exitCode = EXIT_CONFIG;
    } else if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`jabberx: ${(e as Error).message}\n`);
      process.exitCode = EXIT_USAGE;
    } else if (e instanceof AccountError) {
      process.stderr.write(`jabberx: ${e.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`jabberx: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
