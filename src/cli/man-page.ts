// The jabberx(1) manual page, made from the same table as `jabberx help` (src/cli/help.ts), so the
// two can't disagree: `npm run man` writes man/jabberx.1, and `npm run lint` fails when it is stale.
import { COMMON_EXITS, CONFIG_OPTION, HELP, exitCodes } from './help.ts';

/** Text for roff: backslashes and hyphens escaped, a line starting with . or ' protected. */
function roff(text: string): string {
  const escaped = text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

/** Tagged paragraphs: the tag in bold (an option or a code), its meaning indented below. */
function tagged(rows: Array<[string, string]>): string[] {
  return rows.flatMap(([tag, meaning]) => ['.TP', `.B ${roff(tag)}`, roff(meaning)]);
}

export function manPage(version: string): string {
  const lines = [
    `.TH JABBERX 1 "" "jabberx ${roff(version)}" "JabberX manual"`,
    '.SH NAME',
    'jabberx \\- a privacy\\-first XMPP server, and the commands to run it',
    '.SH SYNOPSIS',
    '.B jabberx',
    '.I command',
    '[\\fB\\-\\-config\\fR \\fIFILE\\fR] [\\fIoptions\\fR]',
    '.br',
    '.B jabberx help',
    '[\\fIcommand\\fR]',
    '.SH DESCRIPTION',
    roff('JabberX serves XMPP (Jabber) clients and keeps its privacy policy: no message archive, no IP addresses or connection times stored or logged, passwords only as salted SCRAM hashes, all stored data encrypted, TLS 1.2 or newer only.'),
    roff('Commands that change accounts or blocks act through the running server (a Unix socket, data_dir/control.sock) when it runs, so sessions end and caches update at once; when it is stopped they open the store directly.'),
    '.SH COMMANDS',
  ];
  for (const [name, h] of HELP) {
    lines.push(`.SS ${roff(name)}`, '.nf', ...h.usage.map((u) => `.B jabberx ${roff(u)}`), '.fi', '.PP', roff(`${h.summary}.`));
    if (h.details?.length) lines.push(roff(h.details.join(' ')));
    const options = name === 'help' ? [] : [...(h.options ?? []), CONFIG_OPTION];
    if (options.length) lines.push('.PP', 'Options:', '.RS', ...tagged(options), '.RE');
    lines.push('.PP', 'Examples:', '.RS', '.nf', ...h.examples.map(roff), '.fi', '.RE');
    lines.push('.PP', 'Exit status:', '.RS', ...tagged(exitCodes(name).map(([c, m]) => [String(c), m])), '.RE');
  }
  lines.push(
    '.SH OPTIONS',
    ...tagged([CONFIG_OPTION, ['--help', 'usage, options, examples and exit codes of a command: jabberx COMMAND --help'], ['--version', 'the version']]),
    '.SH EXIT STATUS',
    roff('Every command exits with one of these, and some with more, or with a more precise meaning (listed with the command above):'),
    ...tagged(COMMON_EXITS.map(([c, m]) => [String(c), m])),
    '.SH FILES',
    ...tagged([
      ['/etc/jabberx/jabberx.yml', 'the configuration when --config is not given; then ./jabberx.yml; else embedded defaults'],
      ['/var/lib/jabberx', 'data_dir of the system configuration when it sets none: the encrypted database, self-signed certificates, server.secret'],
      ['data_dir/server.lock', 'the PID of the running server; a second server on the same data_dir refuses to start'],
      ['data_dir/control.sock', 'the control socket (mode 0600) the commands use to reach the running server'],
      ['data_dir/debug.log', 'debug logging while it is on (jabberx debug on); deleted when it is switched off'],
    ]),
    '.SH SEE ALSO',
    roff('systemctl(1), the systemd unit contrib/jabberx.service, and README.md of the package: configuration reference, "Running it on a server", privacy guarantees.'),
    '',
  );
  return lines.join('\n');
}
