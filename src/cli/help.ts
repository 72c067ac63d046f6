// `jabberx help [COMMAND]` and `jabberx COMMAND --help`: usage, options, examples and exit codes of
// every command, from this one table (the global usage is made from it too).

export interface CommandHelp {
  /** Usage lines after "jabberx ". */
  usage: string[];
  summary: string;
  /** More lines of description. */
  details?: string[];
  options?: Array<[flag: string, meaning: string]>;
  examples: string[];
  /** Exit codes besides 0 (success), 64 (usage error) and 78 (configuration error). */
  exits?: Array<[code: number, meaning: string]>;
}

export const CONFIG_OPTION: [string, string] = ['--config FILE', 'configuration file (default: /etc/jabberx/jabberx.yml, else ./jabberx.yml, else the embedded defaults)'];
const PASSWORD_OPTION: [string, string] = ['--password P', 'the password (prompted for, without echo, when omitted; read from a pipe as one line)'];
const NO_SERVER: [number, string] = [69, 'no server is running on the data directory (the command needs one)'];
const ACCOUNT_FAILURE: [number, string] = [1, 'the operation failed (e.g. the account exists or does not), or another server holds the data directory'];

export const HELP = new Map<string, CommandHelp>([
  ['start', {
    usage: ['start [--config FILE] [--allow-root]'],
    summary: 'Run the server',
    details: [
      'SIGTERM or SIGINT close every stream with <system-shutdown/> and exit. SIGHUP reloads, as',
      'jabberx reload does (certificates, and the settings that can change while running; the log says',
      'which changed and which need a restart). Certificate files are also re-read when they change',
      '(tls.watch).',
      'Holds data_dir/server.lock while it runs: a second server on the same data_dir refuses to start.',
      'Refuses to run as root (a flaw in the server would give away the machine) unless told to.',
    ],
    options: [['--allow-root', 'run as root all the same (refused otherwise; also security.allow_root)']],
    examples: ['jabberx start --config /etc/jabberx/jabberx.yml', 'sudo -u jabberx jabberx start', 'kill -HUP $(cat /var/lib/jabberx/server.lock)'],
    exits: [[1, 'the data directory is in use by another server, a listener\'s port is taken, or the server failed'], [70, 'the server crashed (logged)'], [77, 'run as root without --allow-root']],
  }],
  ['check-config', {
    usage: ['check-config [--config FILE]'],
    summary: 'Validate the configuration and what start needs, and exit',
    details: [
      'Checks every option and module option, the certificates (as check certs: a certificate start would',
      'refuse or whose chain does not verify is a problem, the rest are warnings) and the master key;',
      'reports every problem. Warns of data left by modules turned off (see purge-module). Writes nothing.',
    ],
    examples: ['jabberx check-config --config /etc/jabberx/jabberx.yml'],
  }],
  ['check', {
    usage: ['check certs [--config FILE]'],
    summary: 'Check each host\'s certificate as clients will see it',
    details: [
      'For each host: missing or unreadable files, not PEM, a key that does not match, expired (error)',
      'or expiring within 30 days (warning), a name that does not cover the host (wildcards count), and a',
      'chain that does not verify against the system\'s CAs and NODE_EXTRA_CA_CERTS. The self-signed',
      'certificate jabberx makes is a warning. With a server running, the service domains its modules',
      'serve are checked too (warnings). Reads files only. Any error exits 78.',
    ],
    examples: ['jabberx check certs --config /etc/jabberx/jabberx.yml'],
    exits: [[1, 'warnings only (e.g. a certificate expiring within 30 days, or self-signed)']],
  }],
  ['reload', {
    usage: ['reload'],
    summary: 'Make the running server re-read its configuration file and certificates',
    details: [
      'As SIGHUP does. New TLS connections (c2s and https) get the new certificates; open sessions stay.',
      'Applied at once: tls.*, hosts.<domain>.certificate/key, acme.*, policy.*; every other changed',
      'setting is named as needing a restart. A certificate that is expired, for another name or',
      'otherwise unusable is refused and the one in use stays.',
    ],
    examples: ['jabberx reload', 'certbot renew --deploy-hook "jabberx reload"'],
    exits: [[1, 'a new certificate was refused (the one in use stays)'], [69, 'no server is running'], [78, 'the configuration file does not load (the server is not asked; its running settings stay)']],
  }],
  ['cert', {
    usage: ['cert import DIR'],
    summary: 'Copy Let\'s Encrypt certificates (DIR/live/<domain>/) into place for the configured hosts',
    details: [
      'For each host: DIR/live/<host>/, else any live/ folder whose certificate names the host (a wildcard,',
      'a SAN list); fullchain.pem and privkey.pem are copied to the host\'s certificate/key files, the shared',
      'tls.* files (only if one certificate covers every host using them), or data_dir/certs/<host>/. Keys',
      'get mode 0600 (as root: owned by the folder\'s owner). An expired or mismatched pair is skipped.',
      'A running server then reloads. Suits a certbot deploy hook.',
    ],
    examples: ['jabberx cert import /etc/letsencrypt', 'certbot renew --deploy-hook "jabberx cert import /etc/letsencrypt"'],
    exits: [[1, 'nothing imported (no usable live/<domain> folder for any host, or DIR is not in that layout), or the running server refused a certificate']],
  }],
  ['adduser', {
    usage: ['adduser USER@HOST [--password P]', 'adduser --batch'],
    summary: 'Create an account (prompts for the password when omitted)',
    options: [PASSWORD_OPTION, ['--batch', 'create accounts from "user@host password" lines on stdin (# comments and blank lines skipped)']],
    examples: ['jabberx adduser alice@example.org', 'jabberx adduser --batch < accounts.txt'],
    exits: [[1, 'the account exists (with --batch: any line failed, each reported by its number); or another server holds the data directory']],
  }],
  ['passwd', {
    usage: ['passwd USER@HOST [--password P]'],
    summary: 'Change an account\'s password',
    options: [PASSWORD_OPTION],
    examples: ['jabberx passwd alice@example.org'],
    exits: [ACCOUNT_FAILURE],
  }],
  ['deluser', {
    usage: ['deluser USER@HOST'],
    summary: 'Delete an account and all its data (the address is free at once)',
    details: ['Ends its sessions on a running server; contacts\' rosters are cleaned.'],
    examples: ['jabberx deluser alice@example.org'],
    exits: [ACCOUNT_FAILURE],
  }],
  ['revoke-tokens', {
    usage: ['revoke-tokens USER@HOST'],
    summary: 'Revoke an account\'s FAST login tokens (XEP-0484): its clients log in with the password next time',
    details: ['A password change and deluser revoke them too; a client can revoke its own by logging out.'],
    examples: ['jabberx revoke-tokens alice@example.org'],
    exits: [ACCOUNT_FAILURE],
  }],
  ['disable', {
    usage: ['disable USER@HOST'],
    summary: 'Suspend an account (termination for a breach of the terms) without deleting it',
    details: [
      'Its sessions end at once on a running server; its logins are refused with <account-disabled/>.',
      'Its data stays, and messages to it are handled as for any offline account. enable reverses it.',
    ],
    examples: ['jabberx disable mallory@example.org'],
    exits: [ACCOUNT_FAILURE],
  }],
  ['enable', {
    usage: ['enable USER@HOST'],
    summary: 'Lift the suspension of an account (see disable)',
    examples: ['jabberx enable mallory@example.org'],
    exits: [ACCOUNT_FAILURE],
  }],
  ['invite', {
    usage: ['invite HOST [--expires 7d]'],
    summary: 'Make an invite that creates one account on HOST (XEP-0401), to hand to someone',
    details: [
      'Prints the xmpp: URI a client opens, and the landing page on the http(s) listener that explains it',
      'and names clients. Needs the invites module on HOST (and, to register with it, register in invite mode).',
      'Invites expire (modules.invites.lifetime at most) and are then deleted.',
    ],
    options: [['--expires PERIOD', 'how long it stays valid, e.g. 1d, 12h (default and longest: modules.invites.lifetime)']],
    examples: ['jabberx invite example.org', 'jabberx invite example.org --expires 1d'],
    exits: [[1, 'the invites module is off on HOST, or another server holds the data directory']],
  }],
  ['purge-module', {
    usage: ['purge-module MODULE [--host DOMAIN]...'],
    summary: 'Erase what a module that is turned off left stored (e.g. the mam archive after removing mam)',
    details: [
      'A module turned off on a host keeps its data there: nothing purges it any more, the server warns',
      'at start, and /privacy states it as kept. This erases every record of the module\'s stores (and its',
      'files, e.g. uploads) on the named hosts, or on every host where the module is off; deletion is final',
      '(secure delete). Refused, erasing nothing, where the module is enabled. Works on a running server',
      '(/privacy changes at once) or a stopped one.',
    ],
    options: [['--host DOMAIN', 'only this host (repeatable); default: every host where the module is off']],
    examples: ['jabberx purge-module mam', 'jabberx purge-module upload --host example.org'],
    exits: [[1, 'the store could not be written, or another server holds the data directory'], [65, 'the module is enabled on a named host (or on every host): nothing was erased']],
  }],
  ['list-users', {
    usage: ['list-users [HOST]'],
    summary: 'List accounts (all hosts when HOST is omitted); suspended ones are marked (disabled)',
    examples: ['jabberx list-users', 'jabberx list-users example.org'],
    exits: [[1, 'the store could not be read, or another server holds the data directory']],
  }],
  ['export', {
    usage: ['export USER@HOST [--output FILE]'],
    summary: 'Write an account and all its data as a XEP-0227 document (to stdout, or FILE created mode 0600)',
    details: [
      'Credentials as SCRAM keys (never a password), roster, vCard, private XML, offline messages (with',
      'their XEP-0203 stamps) and the XEP-0191 blocklist (an extension element). FAST login tokens stay.',
      'The document holds personal data: keep the file private.',
    ],
    options: [['--output FILE', 'write to FILE (created or truncated, mode 0600) instead of stdout']],
    examples: ['jabberx export alice@example.org --output alice.xml'],
    exits: [[1, 'the account does not exist, or another server holds the data directory']],
  }],
  ['import', {
    usage: ['import FILE... [--host H | --host FROM=TO]... [--overwrite | --skip-existing]'],
    summary: 'Create accounts and their data from XEP-0227 documents (ours, Prosody\'s migrator, ejabberd\'s export_piefxis)',
    details: [
      'FILE may be a directory: its *.xml files are read (Prosody writes one per user); ejabberd\'s main',
      'file is followed to the per-host files it includes. Each file is read whole first: one that is not',
      'well-formed or not XEP-0227 imports nothing. Then each account is imported on its own, completely or',
      'not at all. SCRAM credentials are kept as they are (SCRAM-SHA-1 and -256); a plaintext password is',
      'turned into SCRAM credentials and not kept. An account that exists is refused unless told otherwise.',
      'Limits: a file of at most 1 GiB, a <user/> element of at most 16 MiB; the roster, vCard, private XML,',
      'offline and blocking limits of the configuration apply (an account over one is not imported).',
    ],
    options: [
      ['--host H', 'import every host of the files into H; --host FROM=TO maps one host (others keep their name)'],
      ['--overwrite', 'replace an existing account (its data is deleted first, its sessions end)'],
      ['--skip-existing', 'leave an existing account as it is and go on'],
    ],
    examples: ['jabberx import alice.xml', 'jabberx import /tmp/prosody-export --host example.org', 'jabberx import ejabberd-export/main.xml --skip-existing'],
    exits: [
      [1, 'an account was not imported (it exists, a part of it was refused, or its host is not served here); each is named'],
      [65, 'a file is not well-formed XML or not a XEP-0227 document (the line is named); nothing was imported'],
    ],
  }],
  ['block', {
    usage: ['block ADDRESS|CIDR'],
    summary: 'Refuse connections from an address or range (IPv4/IPv6), at once',
    details: ['Checked before TLS on every listener; open connections from it are closed; kept across restarts.'],
    examples: ['jabberx block 203.0.113.7', 'jabberx block 2001:db8::/48'],
    exits: [[1, 'the block could not be stored (e.g. another server holds the data directory but does not answer yet)']],
  }],
  ['unblock', {
    usage: ['unblock ADDRESS|CIDR'],
    summary: 'Lift a block',
    examples: ['jabberx unblock 203.0.113.7'],
    exits: [[1, 'the block list could not be stored (e.g. another server holds the data directory but does not answer yet)']],
  }],
  ['blocks', {
    usage: ['blocks'],
    summary: 'List blocked addresses and ranges (configured and run-time)',
    examples: ['jabberx blocks'],
    exits: [[1, 'the store could not be read (e.g. another server holds the data directory but does not answer yet)']],
  }],
  ['status', {
    usage: ['status'],
    summary: 'Counts of the running server: sessions, memory, uptime',
    details: ['Never who or from where.'],
    examples: ['jabberx status'],
    exits: [NO_SERVER],
  }],
  ['throttle', {
    usage: ['throttle list', 'throttle clear ACCOUNT|ADDRESS'],
    summary: 'Show or lift the brute-force protection\'s records of failed logins',
    details: [
      'list: accounts and addresses (IPv6: per /64) with failed logins in the window, whether they are',
      'locked or refused now, and until when; each account with the log id its failed-login lines name',
      'it by. clear: forgets the record of an account (user@host) or an address, so it may log in at once.',
      'The records live in the running server\'s memory only; addresses are shown here, never logged.',
    ],
    examples: ['jabberx throttle list', 'jabberx throttle clear alice@example.org', 'jabberx throttle clear 203.0.113.7'],
    exits: [[1, 'clear: no failed logins are recorded for that account or address'], NO_SERVER],
  }],
  ['audit', {
    usage: ['audit [--marker TEXT]...'],
    summary: 'Scan data_dir and logs for plaintext personal data',
    details: ['Looks for the markers, and for IP- and e-mail-shaped text.'],
    options: [['--marker TEXT', 'text that must appear nowhere (repeatable), e.g. a test account\'s message']],
    examples: ['jabberx audit --marker "secret-marker-42"'],
    exits: [[1, 'something was found']],
  }],
  ['keygen', {
    usage: ['keygen [--out FILE]'],
    summary: 'Make a new random master key (printed, or written with mode 0600)',
    options: [['--out FILE', 'write the key to FILE (mode 0600; never inside data_dir) instead of printing it']],
    examples: ['jabberx keygen --out /etc/jabberx/master.key'],
    exits: [[78, 'a configuration error, or FILE exists (a key file is never overwritten) or cannot be written']],
  }],
  ['rotate-key', {
    usage: ['rotate-key --new-key-file F | --new-key-env VAR | --new-key-command CMD', 'rotate-key --data-key'],
    summary: 'Re-wrap the data keys under a new master key, or start a new data key',
    details: ['Works while the server runs. Afterwards point storage.key_* at the new key, and keep the old', 'key for older backups.'],
    options: [
      ['--new-key-file F', 'the new master key is in file F'],
      ['--new-key-env VAR', 'the new master key is in environment variable VAR'],
      ['--new-key-command CMD', 'the new master key is printed by the shell command CMD'],
      ['--data-key', 'start a new data key for new writes (older ones stay for reading)'],
    ],
    examples: ['jabberx keygen --out /etc/jabberx/new.key && jabberx rotate-key --new-key-file /etc/jabberx/new.key', 'jabberx rotate-key --data-key'],
    exits: [[1, 'the rotation failed, nothing changed (e.g. another server holds the data directory but does not answer yet)'], [78, 'a configuration error, or the new or the current master key cannot be loaded (a missing file, an unset variable, a failing command)']],
  }],
  ['debug', {
    usage: ['debug on [--for 1h] | off | status'],
    summary: 'Verbose logging into its own file on the running server',
    details: ['Writes data_dir/debug.log; off (or the end of --for) deletes that file.'],
    options: [['--for PERIOD', 'switch off by itself after this long, e.g. 30m, 1h']],
    examples: ['jabberx debug on --for 1h', 'jabberx debug off'],
    exits: [NO_SERVER],
  }],
  ['help', {
    usage: ['help [COMMAND]', 'COMMAND --help'],
    summary: 'This help, or a command\'s usage, options, examples and exit codes',
    examples: ['jabberx help adduser', 'jabberx adduser --help'],
  }],
]);

/** The exit codes every command shares (a command's own are in its `exits`). */
export const COMMON_EXITS: Array<[number, string]> = [[0, 'success'], [64, 'usage error (unknown command or option, missing or malformed argument)'], [78, 'configuration error (a bad option, no configuration file, a certificate or master key problem)']];

function table(rows: Array<[string, string]>, indent = 2): string[] {
  const width = Math.max(...rows.map(([a]) => a.length)) + 2;
  return rows.map(([a, b]) => `${' '.repeat(indent)}${a.padEnd(width)}${b}`);
}

/**
 * A command's exit codes with their meaning: the common ones, where the command's own meaning of a
 * code replaces the common one; `help` reads no configuration, so it has no 78.
 */
export function exitCodes(name: string): Array<[number, string]> {
  const own = HELP.get(name)?.exits ?? [];
  const common = COMMON_EXITS.filter(([c]) => !own.some(([o]) => o === c) && !(name === 'help' && c === 78));
  return [...common, ...own].sort((a, b) => a[0] - b[0]);
}

/** One command's help. */
export function commandHelp(name: string): string {
  const h = HELP.get(name);
  if (!h) throw new Error(`no help for ${name}`);
  const lines = [`Usage: ${h.usage.map((u) => `jabberx ${u}`).join('\n       ')}`, '', h.summary + '.'];
  if (h.details) lines.push(...h.details);
  const options = name === 'help' ? [] : [...(h.options ?? []), CONFIG_OPTION];
  if (options.length) lines.push('', 'Options:', ...table(options));
  lines.push('', 'Examples:', ...h.examples.map((e) => `  ${e}`));
  lines.push('', 'Exit codes:', ...table(exitCodes(name).map(([c, m]) => [String(c), m])));
  return `${lines.join('\n')}\n`;
}

/** The global usage: every command with its summary. */
export function globalUsage(version: string): string {
  // Usage left, summary right; a usage too long for the column puts its summary on the next line.
  const col = 34;
  const commands: string[] = [];
  for (const h of HELP.values()) {
    h.usage.forEach((u, i) => {
      const summary = i === 0 ? h.summary : '';
      if (u.length + 2 > col && summary) commands.push(`  ${u}`, `  ${' '.repeat(col)}${summary}`);
      else commands.push(`  ${summary ? u.padEnd(col) + summary : u}`);
    });
  }
  return [
    `jabberx ${version}: a privacy-first XMPP server`,
    '',
    'Usage: jabberx <command> [--config FILE] [options]',
    '',
    'Commands:',
    ...commands,
    '',
    'Options:',
    ...table([CONFIG_OPTION, ['--help', 'usage of a command: jabberx COMMAND --help'], ['--version', 'the version']]),
    '',
    'Exit codes: 0 success, 1 failure, 64 usage error, 65 malformed input file (import), 69 no running',
    'server (commands that need one), 78 configuration error',
    '(jabberx help COMMAND lists each command\'s).',
    '',
  ].join('\n');
}
