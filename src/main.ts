// The `jabberx` command line: parses the arguments, dispatches to the commands in src/cli/ and
// turns what they throw into an exit code.
import { parseArgs } from 'node:util';
import { loadConfig } from './core/config.ts';
import { ConfigError } from './core/errors.ts';
import { AccountError } from './core/accounts.ts';
import { KeyError } from './storage/encryption/key-error.ts';
import { builtinModuleNames, defaultModuleNames } from './modules/registry.ts';
import type { Command } from './cli/command.ts';
import { UsageError } from './cli/errors.ts';
import { DataDirLockedError } from './cli/data-dir-lock.ts';
import { NoConfigError, configPathFor } from './cli/default-config.ts';
import { ListenError } from './transports/listen.ts';
import { addUser, changePassword, deleteUser, listUsers } from './cli/accounts.ts';
import { block, unblock, listBlocks } from './cli/blocks.ts';
import { keygen, rotateKey } from './cli/keys.ts';
import { status, debug } from './cli/live.ts';
import { start } from './cli/start.ts';
import { checkConfig } from './cli/check-config.ts';
import { runAudit } from './cli/audit.ts';
import { VERSION } from './version.ts';

const EXIT_USAGE = 64;
const EXIT_CONFIG = 78;

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
  --config FILE                 Configuration file (default: /etc/jabberx/jabberx.yml, else
                                ./jabberx.yml; without either, start serves localhost with
                                embedded defaults in ./data)
  --help, --version
`;

// A Map, not an object literal: "toString" or "constructor" must be unknown commands too.
const COMMANDS = new Map<string, Command>([
  ['start', start],
  ['check-config', checkConfig],
  ['adduser', addUser],
  ['passwd', changePassword],
  ['deluser', deleteUser],
  ['list-users', listUsers],
  ['block', block],
  ['unblock', unblock],
  ['blocks', listBlocks],
  ['debug', debug],
  ['status', status],
  ['audit', ({ values, config }) => runAudit(config(), values.marker ?? [], (line) => process.stdout.write(`${line}\n`))],
  ['keygen', keygen],
  ['rotate-key', rotateKey],
]);

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
  const cmd = COMMANDS.get(command);
  if (!cmd) throw new UsageError(`unknown command "${command}" (see jabberx --help)`);
  return cmd({
    values,
    rest,
    config: () => loadConfig(configPathFor(values.config), { knownModules: builtinModuleNames, defaultModules: defaultModuleNames }),
  });
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof ConfigError || e instanceof KeyError || e instanceof NoConfigError) {
      process.stderr.write(`jabberx: ${e.message}\n`);
      process.exitCode = EXIT_CONFIG;
    } else if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`jabberx: ${(e as Error).message}\n`);
      process.exitCode = EXIT_USAGE;
    } else if (e instanceof AccountError || e instanceof DataDirLockedError || e instanceof ListenError) {
      process.stderr.write(`jabberx: ${e.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`jabberx: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
