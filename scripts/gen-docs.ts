// Generates the README's features table, core configuration reference and module option reference
// from the code's own declarations (module metadata, CONFIG_SECTIONS), so the README can't drift
// from the code. `--check` exits 1 when the README is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { moduleRegistry } from '../src/modules/registry.ts';
import type { AnyModule } from '../src/core/modules.ts';
import { CONFIG_SECTIONS } from '../src/core/config.ts';
import type { OptionDecl } from '../src/core/options.ts';
import { MAN_PAGE, manPageFresh } from './gen-man.ts';
import { manPage } from '../src/cli/man-page.ts';
import { VERSION } from '../src/version.ts';

const README = join(import.meta.dirname, '..', 'README.md');

/** What the core itself implements (not a module). */
const CORE_SPECS: [spec: string, what: string, status: string][] = [
  ['RFC 6120', 'XMPP core: streams, STARTTLS, SASL, resource binding, stream and stanza errors, restricted XML (§11)', 'complete for client streams; server-to-server not yet'],
  ['RFC 6121', 'IM delivery rules (§8) for bare and full JIDs, by message type and priority', 'complete'],
  ['RFC 7622', 'JIDs with PRECIS: UsernameCaseMapped localpart, OpaqueString resource, IDNA domain', 'complete'],
  ['RFC 5802, RFC 7677', 'SCRAM-SHA-1, SCRAM-SHA-256 and their -PLUS variants', 'complete'],
  ['RFC 5929, RFC 9266', 'channel binding: tls-server-end-point and tls-exporter advertised; tls-unique on TLS 1.2, and on TLS 1.3 unadvertised for clients that know no other (slixmpp, poezio)', 'complete'],
  ['RFC 4616', 'SASL PLAIN, over TLS only, checked against the SCRAM data', 'complete'],
  ['XEP-0198 (v1.6)', 'stream management: acks both ways, resumption (limits.sm_*), unacknowledged stanzas of a session that times out go to offline storage or bounce', "a client's message is acknowledged once out of the server's hands; offline messages deleted once acknowledged"],
  ['XEP-0199 (v2.0.1)', 'the server pings bound clients without stream management that stay silent for limits.idle_timeout, and drops them after limits.ping_timeout', 'complete'],
  ['XEP-0368', 'direct TLS listener', 'complete'],
  ['XEP-0386 (v1.0.0)', 'Bind 2: the resource is "[tag]/[id]", stable per client (a keyed hash of its SASL2 user-agent id, which never shows) and its earlier session is ended; carbons, CSI and stream management enabled inline', 'partial: offline messages are delivered as after RFC 6120 binding instead of being cleared (there is no MAM archive to take them over); no MAM metadata'],
  ['XEP-0388 (v0.4.0)', 'SASL2: the SASL mechanisms after TLS only, -PLUS with channel binding, the same throttle; Bind 2, XEP-0198 resumption and FAST inline; no stream restart', 'complete; no <continue/> tasks are offered (no hash upgrade or second factor)'],
  ['XEP-0440', 'SASL channel-binding type capability', 'complete'],
  ['XEP-0474', 'SASL SCRAM downgrade protection', 'complete'],
  ['XEP-0227 (v1.1)', 'portable import/export: `jabberx export` writes an account as a document (SCRAM credentials, roster, vCard, private XML, offline messages, PEP nodes and items, XEP-0191 blocklist as an extension element); `jabberx import` reads ours, Prosody\'s migrator output and ejabberd\'s export_piefxis', 'partial: no MAM archive; roster pending inbound requests, PEP subscriptions, privacy lists and FAST tokens are not carried'],
  ['XEP-0484 (v0.1.0)', 'FAST login tokens with HT-SHA-256-EXPR, -ENDP, -UNIQ and -NONE (draft-schmaus-kitten-sasl-ht-08): token per client bound to its mechanism, rotation, logout, replay counter, revocation (`jabberx revoke-tokens`, password change, deletion); only hashes stored (fast.*)', 'complete but TLS 0-RTT, which is not offered'],
];

const pad = (n: number) => String(n).padStart(4, '0');

function featuresTable(mods: AnyModule[]): string {
  const rows = CORE_SPECS.map(([spec, what, status]) => `| ${spec} | core | ${what} | ${status} |`);
  const xepRows: [number, string][] = [];
  for (const m of mods) {
    for (const x of m.xeps ?? []) {
      const status = x.status === 'partial' ? `partial: ${x.note ?? ''}` : 'complete';
      xepRows.push([x.number, `| XEP-${pad(x.number)} (v${x.version}) | \`${m.name}\` | ${m.description} | ${status} |`]);
    }
    for (const r of m.rfcs ?? []) rows.push(`| ${r} | \`${m.name}\` | ${m.description} | complete |`);
  }
  xepRows.sort((a, b) => a[0] - b[0]);
  return ['| spec | module | what | status |', '|---|---|---|---|', ...rows, ...xepRows.map((r) => r[1])].join('\n');
}

function optionsTable(mods: AnyModule[]): string {
  const lines = ['| option | default | meaning |', '|---|---|---|'];
  for (const m of mods) {
    for (const [key, decl] of Object.entries(m.options)) {
      lines.push(`| \`modules.${m.name}.${key}\` | \`${decl.defaultText}\` | ${decl.doc} |`);
    }
  }
  return lines.join('\n');
}

/** Keys outside CONFIG_SECTIONS (parsed by hand in src/core/config.ts): key, default, meaning. */
const DATA_DIR_ROW = '| `data_dir` | `./data`; `/var/lib/jabberx` for `/etc/jabberx/jabberx.yml` | database, self-signed certificates, logs (relative to the config file) |';
const LISTENERS_ROW = '| `listeners` | 5222 STARTTLS, 5223 direct TLS on `::` | list of `{type, port, address}`; types `c2s_starttls`, `c2s_direct_tls`, `http` (policy pages, default port 5280), `https` (5281) |';
const HOSTS_ROWS = [
  '| `hosts.<domain>` | `localhost` | served domains; each may set `certificate`, `key` and `modules` |',
  '| `modules.<name>` | the modules declared `enabledByDefault` (today all built-in ones) | options of a module; `false` disables it (per host too) |',
];

/** A literal default in backticks; a described one ("self-signed per host") as it is; none empty. */
function defaultCell(decl: OptionDecl<unknown>): string {
  let text = decl.defaultText;
  if (decl.kind === 'string' && text.startsWith('"')) text = JSON.parse(text) as string;
  if (text === '') return '';
  return /\s/.test(text) ? text : `\`${text}\``;
}

function configTable(): string {
  const lines = ['| key | default | meaning |', '|---|---|---|', DATA_DIR_ROW];
  for (const [section, decls] of Object.entries(CONFIG_SECTIONS)) {
    for (const [key, decl] of Object.entries(decls)) lines.push(`| \`${section}.${key}\` | ${defaultCell(decl)} | ${decl.doc} |`);
    if (section === 'log') lines.push(LISTENERS_ROW);
  }
  lines.push(...HOSTS_ROWS);
  return lines.join('\n');
}

function replaceBetween(text: string, name: string, body: string): string {
  const start = `<!-- generated:${name} -->`;
  const end = `<!-- /generated:${name} -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README.md lacks the markers ${start} … ${end}`);
  return text.slice(0, i + start.length) + '\n' + body + '\n' + text.slice(j);
}

const mods = [...moduleRegistry.values()].sort((a, b) => a.name.localeCompare(b.name));
const current = readFileSync(README, 'utf8');
let next = replaceBetween(current, 'features', featuresTable(mods));
next = replaceBetween(next, 'config', configTable());
next = replaceBetween(next, 'module-options', optionsTable(mods));

// The man page comes from the help table (scripts/gen-man.ts); kept fresh with the README.
if (process.argv.includes('--check')) {
  if (next !== current) {
    process.stderr.write('README.md is stale: run `npm run docs`\n');
    process.exit(1);
  }
  if (!manPageFresh()) {
    process.stderr.write('man/jabberx.1 is stale: run `npm run docs` (or `npm run man`)\n');
    process.exit(1);
  }
} else {
  if (next !== current) {
    writeFileSync(README, next);
    process.stdout.write('README.md updated\n');
  }
  if (!manPageFresh()) {
    writeFileSync(MAN_PAGE, manPage(VERSION));
    process.stdout.write('man/jabberx.1 updated\n');
  }
}
