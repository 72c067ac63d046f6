// The `jabberx` command line: parses the arguments, dispatches to the commands in src/cli/ and
// turns what they throw into an exit code.
import { parseArgs } from 'node:util';
import { loadConfig } from './core/config.ts';
import { ConfigError } from './core/errors.ts';
import { AccountError } from './core/accounts.ts';
import { KeyError } from './storage/encryption/key-error.ts';
import { builtinModuleNames, defaultModuleNames } from './modules/registry.ts';
import type { Command } from './cli/command.ts';
import { DataError, NoServerError, OperationError, UsageError } from './cli/errors.ts';
import { DataDirLockedError } from './cli/data-dir-lock.ts';
import { NoConfigError, configPathFor } from './cli/default-config.ts';
import { ListenError } from './transports/listen.ts';
import { RootRefusedError } from './cli/root-refusal.ts';
import { addUser, changePassword, deleteUser, disableUser, enableUser, listUsers, revokeTokens } from './cli/accounts.ts';
import { invite } from './cli/invite.ts';
import { block, unblock, listBlocks } from './cli/blocks.ts';
import { exportAccount, importAccounts } from './cli/portable.ts';
import { keygen, rotateKey } from './cli/keys.ts';
import { status, debug } from './cli/live.ts';
import { throttle } from './cli/throttle.ts';
import { start } from './cli/start.ts';
import { checkConfig } from './cli/check-config.ts';
import { check } from './cli/check-certs.ts';
import { reload } from './cli/reload.ts';
import { cert } from './cli/cert-import.ts';
import { runAudit } from './cli/audit.ts';
import { purgeModule } from './cli/purge-module.ts';
import { VERSION } from './version.ts';
import { HELP, commandHelp, globalUsage } from './cli/help.ts';

const EXIT_USAGE = 64;
const EXIT_DATA = 65;
const EXIT_NO_SERVER = 69;
const EXIT_NO_PERMISSION = 77;
const EXIT_CONFIG = 78;


// A Map, not an object literal: "toString" or "constructor" must be unknown commands too.
const COMMANDS = new Map<string, Command>([
  ['start', start],
  ['check-config', checkConfig],
  ['check', check],
  ['reload', reload],
  ['cert', cert],
  ['adduser', addUser],
  ['passwd', changePassword],
  ['deluser', deleteUser],
  ['revoke-tokens', revokeTokens],
  ['disable', disableUser],
  ['enable', enableUser],
  ['invite', invite],
  ['list-users', listUsers],
  ['export', exportAccount],
  ['import', importAccounts],
  ['purge-module', purgeModule],
  ['block', block],
  ['unblock', unblock],
  ['blocks', listBlocks],
  ['debug', debug],
  ['status', status],
  ['throttle', throttle],
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
      expires: { type: 'string' },
      out: { type: 'string' },
      marker: { type: 'string', multiple: true },
      'new-key-file': { type: 'string' },
      'new-key-env': { type: 'string' },
      'new-key-command': { type: 'string' },
      'data-key': { type: 'boolean' },
      'allow-root': { type: 'boolean' },
      output: { type: 'string' },
      host: { type: 'string', multiple: true },
      overwrite: { type: 'boolean' },
      'skip-existing': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.version) {
    process.stdout.write(`jabberx ${VERSION}\n`);
    return 0;
  }
  if (!command) {
    process.stdout.write(globalUsage(VERSION));
    return values.help ? 0 : EXIT_USAGE;
  }
  if (command === 'help') {
    const topic = rest[0];
    if (topic !== undefined && !HELP.has(topic)) throw new UsageError(`unknown command "${topic}" (see jabberx help)`);
    process.stdout.write(topic === undefined ? globalUsage(VERSION) : commandHelp(topic));
    return 0;
  }
  const cmd = COMMANDS.get(command);
  if (!cmd) throw new UsageError(`unknown command "${command}" (see jabberx help)`);
  if (values.help) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
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
    } else if (e instanceof RootRefusedError) {
      process.stderr.write(`jabberx: ${e.message}\n`);
      process.exitCode = EXIT_NO_PERMISSION;
    } else if (e instanceof NoServerError) {
      process.stderr.write(`jabberx: ${e.message}\n`);
      process.exitCode = EXIT_NO_SERVER;
    } else if (e instanceof DataError) {
      process.stderr.write(`jabberx: ${e.message}\n`);
      process.exitCode = EXIT_DATA;
    } else if (e instanceof AccountError || e instanceof DataDirLockedError || e instanceof ListenError || e instanceof OperationError) {
      process.stderr.write(`jabberx: ${e.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`jabberx: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
