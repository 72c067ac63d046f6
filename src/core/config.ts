// Server configuration (YAML): load, validate every key with its line, and build the per-host view.
// Host names are domainparts (RFC 7622 §3.2); TLS floor per RFC 8996 / RFC 9325 (TLS 1.2 at least).
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { domainToASCII, domainToUnicode } from 'node:url';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { ConfigError } from './errors.ts';
import { parseBlockRule } from './ip-blocks.ts';
import { CONTACT_KINDS, type ContactKind } from './modules.ts';
import { option, parseOptions, type OptionDecl, type OptionDecls, type OptionValues } from './options.ts';

export interface ListenerConfig {
  /** http/https serve the operator's /terms and /privacy pages (src/transports/http.ts). */
  type: 'c2s_starttls' | 'c2s_direct_tls' | 'http' | 'https';
  port: number;
  address: string;
  line?: number;
}

/** A module as enabled for one host: raw options, validated later by the module loader. */
export interface HostModuleConfig {
  options: Record<string, unknown>;
  /** Option key -> line, for the loader's error messages. */
  lines: Map<string, number>;
  line?: number;
}

export interface HostConfig {
  /** Prepared domain: lowercased, Unicode form (RFC 7622 §3.2). */
  name: string;
  certificate?: string;
  key?: string;
  /** Effective enabled modules after merging the host's entries over the top-level `modules`. */
  modules: Map<string, HostModuleConfig>;
}

/** One fixed section of the configuration, with the keys the operator types (CONFIG_SECTIONS). */
export type ConfigSection<K extends keyof typeof CONFIG_SECTIONS> = OptionValues<(typeof CONFIG_SECTIONS)[K]>;

/**
 * The validated configuration. Section keys are exactly the YAML keys (snake_case), so what the
 * operator types is what the code reads and what the docs list; periods are in ms, sizes in bytes,
 * paths absolute.
 */
export interface ServerConfig {
  /** The file it came from (not a key of it). */
  configPath: string | undefined;
  data_dir: string;
  /** `file`: "-" or an absolute path. */
  log: ConfigSection<'log'>;
  listeners: ListenerConfig[];
  /** `certificate`/`key`: absolute paths, or absent (self-signed per host). */
  tls: Omit<ConfigSection<'tls'>, 'certificate' | 'key'> & { readonly certificate?: string; readonly key?: string };
  /** `directory` an https URL; when `enabled`, `agree_tos` is true and an http listener exists. */
  acme: ConfigSection<'acme'>;
  /** `path` and `key_file` absolute. */
  storage: ConfigSection<'storage'>;
  /** `preauth_max_stanza_size` never above `max_stanza_size`. */
  limits: ConfigSection<'limits'>;
  /** `mechanisms` upper-cased, without duplicates. */
  auth: ConfigSection<'auth'>;
  /** `rotate_after` below `token_lifetime`. */
  fast: ConfigSection<'fast'>;
  /** `blocked_ips`: canonical CIDR rules. */
  security: ConfigSection<'security'>;
  /** Who runs the service, for the /terms and /privacy pages (src/policy/); `service_name` defaults to the first host. */
  policy: ConfigSection<'policy'>;
  hosts: Map<string, HostConfig>;
}

export interface ConfigOptions {
  /** Every module the server knows, for 'unknown module' errors. */
  knownModules: string[];
  /** Enabled when the config has no top-level `modules` key. */
  defaultModules: string[];
}

export const SASL_MECHANISMS = ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-1', 'PLAIN'] as const;

/** ECDHE with AEAD only for TLS 1.2 (RFC 9325 §4.2); the TLS 1.3 suites are all AEAD and stay on. */
export const DEFAULT_CIPHERS = [
  'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

const tlsVersion: OptionDecl<'TLSv1.2' | 'TLSv1.3'> = {
  ...option.enum(['TLSv1.2', 'TLSv1.3'] as const, 'TLSv1.2', 'Oldest TLS version accepted.'),
  parse(raw) {
    if (raw === 'TLSv1.2' || raw === 'TLSv1.3') return raw;
    if (typeof raw === 'string' && /^(SSLv|TLSv1(\.[01])?$)/.test(raw)) throw `${raw} is deprecated and insecure (RFC 8996); use TLSv1.2 or TLSv1.3`;
    throw `expected TLSv1.2 or TLSv1.3, got ${JSON.stringify(raw)}`;
  },
};

/**
 * Declarations of the fixed sections; keys are what the operator types. The README's configuration
 * reference is generated from them (scripts/gen-docs.ts): `doc` is its "meaning" column, and a
 * `defaultText` with a space in it is shown as prose rather than as a literal value.
 */
export const CONFIG_SECTIONS = {
  log: {
    level: option.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info', 'fatal, error, warn, info, debug, trace, silent'),
    file: option.string('-', '`-` = stdout, else a file relative to `data_dir`'),
    format: option.enum(['auto', 'pretty', 'json'] as const, 'auto', '`json`: one JSON object per line; `pretty`: coloured, human-readable lines (pino-pretty); `auto`: pretty when `file` is `-` and standard output is a terminal, else JSON'),
    account_names: option.boolean(false, 'name accounts in failed-login and lockout lines by their address; by default a keyed hash stands for them (`jabberx throttle list` shows both)'),
    failed_login_file: { ...option.string('', 'a separate log of failed logins with the address each came from, for fail2ban (README: "Logs, failed logins and fail2ban"); relative to `data_dir`; the privacy pages say so while it is on'), defaultText: 'unset (off)' },
    failed_login_retention: option.period('1d', 'lines of `failed_login_file` older than this are deleted by the retention engine', { min: 1000, max: 30 * 86_400_000 }),
  },
  tls: {
    min_version: { ...tlsVersion, doc: '`TLSv1.2` or `TLSv1.3`; older versions are refused' },
    ciphers: { ...option.string(DEFAULT_CIPHERS, 'OpenSSL cipher list for TLS 1.2; TLS 1.3 suites always on'), defaultText: 'ECDHE + AEAD only' },
    certificate: { ...option.string('', 'default PEM certificate chain, for hosts without their own'), defaultText: 'self-signed per host' },
    key: { ...option.string('', 'private key (PEM) of `tls.certificate`'), defaultText: 'self-signed per host' },
    watch: option.boolean(true, 're-read certificates when their files or folders change (a certbot renewal), as `jabberx reload` does'),
  },
  // RFC 8555 with HTTP-01: for hosts without their own certificate files (src/transports/acme.ts).
  acme: {
    enabled: option.boolean(false, 'get and renew certificates from an ACME CA (Let\'s Encrypt) for hosts without `certificate`/`key`; needs an `http` listener reached on port 80'),
    directory: option.string('https://acme-v02.api.letsencrypt.org/directory', 'the CA\'s ACME directory URL (https)'),
    email: option.string('', 'contact address given to the CA, for expiry and policy notices (optional)'),
    agree_tos: option.boolean(false, 'you accept the CA\'s terms of service; required with `enabled`'),
    renew_before: option.period('30d', 'renew a certificate this long before it expires', { min: 86_400_000, max: 3650 * 86_400_000 }),
  },
  storage: {
    backend: option.enum(['sqlite'] as const, 'sqlite', 'storage backend'),
    path: option.string('jabberx.sqlite', 'database file, relative to `data_dir`'),
    key_provider: option.enum(['file', 'env', 'command'] as const, 'file', 'where the master key of encryption at rest comes from: `file`, `env` or `command` (it is never stored in `data_dir` or the database)'),
    key_file: option.string('jabberx.key', 'key file (relative to the config file, never inside `data_dir`); made on the very first start, when neither it nor the database exists'),
    key_env: option.string('JABBERX_MASTER_KEY', 'environment variable holding the key'),
    key_command: option.string('', 'shell command printing the key (a KMS or vault CLI)'),
    busy_wait: option.period('30s', 'how long a storage operation waits for a lock held by another process (a backup, the `sqlite3` shell) before it fails; the server keeps serving meanwhile (SQLite itself never blocks it for more than a few ms)', { min: 0, max: 3_600_000 }),
  },
  limits: {
    // RFC 6120 §13.12: the limit "MUST NOT be smaller than 10000 bytes".
    max_stanza_size: option.size('256KiB', 'larger stanzas end the stream with `<policy-violation/>` (at least 10000, RFC 6120 §13.12)', { min: 10000 }),
    // Before authentication nobody is known yet: small stanzas only (SASL messages are a few hundred bytes).
    preauth_max_stanza_size: option.size('10000', 'largest stanza before authentication (SASL needs little; nobody is known yet); at least 10000', { min: 10000 }),
    idle_timeout: option.period('5m', 'silence after which a bound client is probed (XEP-0198 `<r/>` with stream management, else a XEP-0199 ping) to find dead connections; a stream not bound yet is closed with `<connection-timeout/>` instead', { min: 1 }),
    ping_timeout: option.period('1m', 'a probed client that stays silent this long is taken for gone and its connection closed; with stream management its session then waits `sm_resume_timeout` for the client to resume', { min: 1 }),
    tls_timeout: option.period('10s', 'time from connecting to an established TLS session (STARTTLS or the direct-TLS handshake)', { min: 1 }),
    handshake_timeout: option.period('30s', 'time from connecting to an authenticated stream with a bound resource', { min: 1 }),
    max_output_buffer: option.size('1MiB', 'bytes waiting to be sent to one connection; above it the server stops reading that client, and stanzas from others go to offline storage or bounce (`<resource-constraint/>`) instead of being buffered', { min: 65536 }),
    output_stall_timeout: option.period('30s', 'a connection whose output stays above `max_output_buffer` this long is closed with `<policy-violation/>`', { min: 1 }),
    max_unauthenticated: option.integer(2000, 'connections not yet authenticated, server-wide; more get `<resource-constraint/>`', { min: 1 }),
    max_unauthenticated_per_address: option.integer(20, 'connections not yet authenticated from one address (IPv6: one /64); more get `<policy-violation/>`', { min: 1 }),
    connection_rate_per_address: option.integer(10, 'new connections per second from one address (IPv6: one /64) on average; more get `<policy-violation/>`; a connection that authenticates gives its share back, so only connections that never log in use it up (on the direct-TLS port, which cannot carry a plaintext error, the TCP connection is closed)', { min: 1 }),
    connection_burst_per_address: option.integer(50, 'new connections one address (IPv6: one /64) may open at once, before `connection_rate_per_address` applies', { min: 1 }),
    sm_resume_timeout: option.period('5m', 'how long a session with stream management (XEP-0198) waits for its client to resume after the connection drops; its unacknowledged stanzas wait in memory meanwhile, then go to offline storage or bounce', { min: 1000 }),
    sm_max_unacked: option.integer(500, 'most stanzas kept for one session until its client acknowledges them (XEP-0198); past it, stanzas from others go to offline storage or bounce', { min: 1 }),
    sm_max_unacked_bytes: option.size('4MiB', 'most bytes of stanzas kept for one session until its client acknowledges them (XEP-0198); as large as a full offline queue (modules.offline.max_bytes), so one login can take it whole', { min: 65536 }),
    sm_max_resumable: option.integer(10000, 'most sessions waiting to be resumed (XEP-0198), server-wide; past it, new sessions get stream management without resumption', { min: 0 }),
    max_resources_per_user: option.integer(10, 'simultaneous clients per account', { min: 1, max: 10000 }),
    v8_semi_space: option.size('2MiB', "V8 young-generation size for `jabberx start` (re-executes itself with it); keeps ~60 MB less resident than V8's 16 MiB default at some cost in peak throughput; `0` = V8's default", { max: 256 << 20 }),
  },
  auth: {
    scram_iterations: option.integer(10000, 'PBKDF2 iterations for new credentials', { min: 4096, max: 1_000_000 }),
    mechanisms: { ...option.list([...SASL_MECHANISMS], 'SASL mechanisms offered, in order'), defaultText: 'SCRAM-SHA-256(-PLUS), SCRAM-SHA-1(-PLUS), PLAIN' },
    resource_conflict: option.enum(['kick_old', 'refuse', 'random'] as const, 'kick_old', 'what happens when a client binds a resource already bound: `kick_old`, `refuse` or `random` (RFC 6120 §7.7.2.2)'),
  },
  // XEP-0484 FAST login tokens, issued inside SASL2 (src/core/fast-tokens.ts).
  fast: {
    enabled: option.boolean(true, 'offer FAST login tokens (XEP-0484) in SASL2: a client that logged in with its password may ask for a token and log in with it next time in one round trip; only a hash of each token is stored'),
    token_lifetime: option.period('21d', 'how long a token is valid; a client away longer logs in with its password again', { min: 60_000, max: 365 * 86_400_000 }),
    rotate_after: option.period('1d', 'a token issued longer ago than this is replaced by a new one when it is used (the old one stays valid until the new one is used); less than `token_lifetime`', { min: 1000 }),
    max_clients_per_account: option.integer(10, 'clients of one account that may hold tokens (each at most two: the one in use and its replacement); one more replaces the client whose token expires first', { min: 1, max: 1000 }),
  },
  security: {
    failed_login_window: option.period('15m', 'how long a failed login is remembered (in memory only), for brute-force protection', { min: 1000 }),
    failed_login_delay_after: option.integer(3, 'failures from one address before answers are delayed (only wrong passwords or SCRAM proofs count; a channel-binding mismatch counts against the account only, a malformed or aborted exchange not at all)', { min: 0 }),
    failed_login_max_per_address: option.integer(10, 'failures from one address before it is refused for the window', { min: 1 }),
    failed_login_max_per_account: option.integer(30, 'failures for one account before addresses that failed are refused for it', { min: 1 }),
    blocked_ips: option.list([], 'addresses and CIDR ranges refused before TLS on every listener (also `jabberx block`)'),
    admins: option.list([], 'bare JIDs of the service\'s administrators (local accounts): they may run the XEP-0133 admin commands and create account invites'),
    allow_root: option.boolean(false, 'let `jabberx start` run as root, as `--allow-root` does; refused otherwise, since a flaw in the server would then give away the whole machine'),
    retention_interval: option.period('1h', 'how often expired data is deleted (also at start; shorter when a limit is short)', { min: 1000 }),
  },
  // The rest of the published terms and privacy policy is derived from what the server does.
  policy: {
    service_name: { ...option.string('', "the service's name on /terms and /privacy"), defaultText: 'first host' },
    operator_name: option.string('the operator of this service', 'who runs the service (the data controller)'),
    contact: option.string('', 'how to reach the operator: an e-mail address or a web address'),
    jurisdiction: option.string('', 'which law applies, e.g. "Germany (EU)"'),
    extra_terms: option.list([], 'the operator\'s own additional rules, one sentence each, e.g. "No spam."'),
    // XEP-0157: published in the server's disco#info (the disco module); URIs only.
    abuse_addresses: { ...option.list([], 'where to report abuse (XEP-0157): `mailto:`, `xmpp:` or `https:` URIs'), defaultText: '`contact` as a URI' },
    admin_addresses: { ...option.list([], 'how to reach the service\'s administrators (XEP-0157), URIs as above'), defaultText: '`contact` as a URI' },
    feedback_addresses: option.list([], 'where to send feedback (XEP-0157), URIs as above'),
    sales_addresses: option.list([], 'sales enquiries (XEP-0157), URIs as above'),
    security_addresses: { ...option.list([], 'where to report security issues (XEP-0157), URIs as above'), defaultText: '`contact` as a URI' },
    status_addresses: option.list([], 'where the service\'s status is published (XEP-0157), URIs as above'),
    support_addresses: { ...option.list([], 'where users get help (XEP-0157), URIs as above'), defaultText: '`contact` as a URI' },
  },
} satisfies Record<string, OptionDecls>;

/** A system install's configuration file: the CLI looks for it first (src/cli/default-config.ts). */
export const SYSTEM_CONFIG_PATH = '/etc/jabberx/jabberx.yml';
/** data_dir when the system configuration leaves it unset (the unit's StateDirectory=jabberx). */
export const SYSTEM_DATA_DIR = '/var/lib/jabberx';

const TOP_KEYS = ['data_dir', 'log', 'listeners', 'tls', 'acme', 'storage', 'limits', 'auth', 'fast', 'security', 'policy', 'hosts', 'modules'];
const HOST_KEYS = ['certificate', 'key', 'modules'];
const LISTENER_TYPES = ['c2s_starttls', 'c2s_direct_tls', 'http', 'https'] as const;
// XEP-0368 direct TLS on 5223; 5280/5281 are the customary XMPP server HTTP(S) ports.
const DEFAULT_PORTS: Record<string, number> = { c2s_starttls: 5222, c2s_direct_tls: 5223, http: 5280, https: 5281 };

/** A YAML node reduced to what validation needs: the JS value, its line, and children with their lines. */
interface RNode {
  value: unknown;
  line: number | undefined;
  entries?: Map<string, RNode>;
  items?: RNode[];
}

function toRNode(node: unknown, doc: Document, lc: LineCounter, path: string, line?: number): RNode {
  if (isAlias(node)) return toRNode(node.resolve(doc), doc, lc, path, line);
  const at = (n: { range?: readonly number[] | null }): number | undefined => (n.range ? lc.linePos(n.range[0] ?? 0).line : undefined);
  if (isMap(node)) {
    const entries = new Map<string, RNode>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      const keyLine = isScalar(pair.key) ? at(pair.key) : undefined;
      if (typeof key !== 'string' && typeof key !== 'number') {
        throw new ConfigError(path || '(top level)', 'keys must be plain names', { line: keyLine });
      }
      const name = String(key);
      entries.set(name, toRNode(pair.value, doc, lc, path ? `${path}.${name}` : name, keyLine));
    }
    return { value: node.toJS(doc), line: line ?? at(node), entries };
  }
  if (isSeq(node)) {
    const items = node.items.map((item, i) => toRNode(item, doc, lc, `${path}[${i}]`));
    return { value: node.toJS(doc), line: line ?? at(node), items };
  }
  if (isScalar(node)) return { value: node.toJS(doc), line: line ?? at(node) };
  return { value: null, line };
}

/** The children of a mapping node; absent or empty (null) is an empty mapping. */
function mapping(node: RNode | undefined, path: string, host?: string): Map<string, RNode> {
  if (!node || node.value === null || node.value === undefined) return new Map();
  if (!node.entries) throw new ConfigError(path, `expected a mapping, got ${JSON.stringify(node.value)}`, { host, line: node.line });
  return node.entries;
}

function checkKeys(entries: Map<string, RNode>, known: string[], scope: string, host?: string): void {
  for (const [key, child] of entries) {
    if (!known.includes(key)) {
      throw new ConfigError(scope ? `${scope}.${key}` : key, `unknown option (known: ${known.join(', ')})`, { host, line: child.line });
    }
  }
}

function section<D extends OptionDecls>(root: Map<string, RNode>, name: keyof typeof CONFIG_SECTIONS & string, decls: D) {
  const entries = mapping(root.get(name), name);
  const raw: Record<string, unknown> = {};
  const lines = new Map<string, number>();
  for (const [key, child] of entries) {
    raw[key] = child.value;
    if (child.line !== undefined) lines.set(key, child.line);
  }
  return { values: parseOptions(decls, raw, name, { lines }), lines };
}

/** RFC 7622 §3.2 domainpart, via the WHATWG/UTS #46 mapping Node ships; undefined when invalid. */
export function prepareDomain(raw: string): string | undefined {
  let s = raw.normalize('NFC').toLowerCase();
  if (s.endsWith('.')) s = s.slice(0, -1); // RFC 7622 §3.2: a trailing dot is stripped
  if (!s || /[\s/@:[\]]/.test(s)) return undefined;
  const ascii = domainToASCII(s);
  if (!ascii || ascii.length > 253) return undefined;
  if (!ascii.split('.').every((l) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(l))) return undefined;
  return domainToUnicode(ascii);
}

function parseListeners(node: RNode | undefined): ListenerConfig[] {
  if (!node || node.value === null || node.value === undefined) {
    return [
      { type: 'c2s_starttls', port: 5222, address: '::' },
      { type: 'c2s_direct_tls', port: 5223, address: '::' },
    ];
  }
  if (!node.items) throw new ConfigError('listeners', 'expected a list of listeners', { line: node.line });
  if (node.items.length === 0) throw new ConfigError('listeners', 'at least one listener is needed', { line: node.line });
  const seen = new Map<number, string>();
  return node.items.map((item, i) => {
    const scope = `listeners[${i}]`;
    const entries = mapping(item, scope);
    const raw: Record<string, unknown> = {};
    const lines = new Map<string, number>();
    for (const [key, child] of entries) {
      raw[key] = child.value;
      if (child.line !== undefined) lines.set(key, child.line);
    }
    if (raw['type'] === undefined || raw['type'] === null) throw new ConfigError(`${scope}.type`, `required (${LISTENER_TYPES.join(' or ')})`, { line: item.line });
    const v = parseOptions({
      type: option.enum(LISTENER_TYPES, 'c2s_starttls', 'Listener kind.'),
      // Port 0 picks a free port (tests).
      port: option.integer(DEFAULT_PORTS[String(raw['type'])] ?? 5222, 'TCP port.', { min: 0, max: 65535 }),
      address: option.string('::', 'IP address to listen on.'),
    }, raw, scope, { lines });
    if (isIP(v.address) === 0 && v.address !== 'localhost') {
      throw new ConfigError(`${scope}.address`, `expected an IP address such as "::" or "127.0.0.1", got ${JSON.stringify(v.address)}`, { line: lines.get('address') });
    }
    const previous = seen.get(v.port);
    if (previous !== undefined) throw new ConfigError(`${scope}.port`, `port ${v.port} is already used by ${previous}`, { line: lines.get('port') ?? item.line });
    if (v.port !== 0) seen.set(v.port, scope);
    return { type: v.type, port: v.port, address: v.address, line: item.line };
  });
}

/** A `modules` mapping: name -> options, or false when disabled. */
function parseModuleEntries(node: RNode | undefined, scope: string, known: string[], host?: string): Map<string, HostModuleConfig | false> {
  const out = new Map<string, HostModuleConfig | false>();
  for (const [name, child] of mapping(node, scope, host)) {
    if (!known.includes(name)) {
      throw new ConfigError(`${scope}.${name}`, `unknown module (known: ${known.join(', ') || 'none'})`, { host, line: child.line });
    }
    if (child.value === false) {
      out.set(name, false);
    } else if (child.value === true || child.value === null || child.value === undefined) {
      out.set(name, { options: {}, lines: new Map(), line: child.line });
    } else if (child.entries) {
      const options: Record<string, unknown> = {};
      const lines = new Map<string, number>();
      for (const [key, opt] of child.entries) {
        options[key] = opt.value;
        if (opt.line !== undefined) lines.set(key, opt.line);
      }
      out.set(name, { options, lines, line: child.line });
    } else {
      throw new ConfigError(`${scope}.${name}`, `expected a mapping of options, true or false, got ${JSON.stringify(child.value)}`, { host, line: child.line });
    }
  }
  return out;
}

/** Host entries override the top-level ones option by option; `false` on a host disables the module there. */
function mergeModules(top: Map<string, HostModuleConfig | false>, own: Map<string, HostModuleConfig | false>): Map<string, HostModuleConfig> {
  const out = new Map<string, HostModuleConfig>();
  for (const [name, m] of top) if (m) out.set(name, { options: { ...m.options }, lines: new Map(m.lines), line: m.line });
  for (const [name, m] of own) {
    if (!m) {
      out.delete(name);
      continue;
    }
    const base = out.get(name);
    out.set(name, {
      options: { ...base?.options, ...m.options },
      lines: new Map([...(base?.lines ?? []), ...m.lines]),
      line: m.line ?? base?.line,
    });
  }
  return out;
}

function pathPair(cert: string, key: string, scope: string, baseDir: string, lines: Map<string, number>, host?: string): { certificate?: string; key?: string } {
  if (!cert && !key) return {};
  if (!cert) throw new ConfigError(`${scope}.certificate`, 'a key is configured without its certificate', { host, line: lines.get('key') });
  if (!key) throw new ConfigError(`${scope}.key`, 'a certificate is configured without its key', { host, line: lines.get('certificate') });
  return { certificate: resolve(baseDir, cert), key: resolve(baseDir, key) };
}

function parseHosts(node: RNode | undefined, baseDir: string, topModules: Map<string, HostModuleConfig | false>, known: string[]): Map<string, HostConfig> {
  const hosts = new Map<string, HostConfig>();
  if (!node || node.value === null || node.value === undefined) {
    hosts.set('localhost', { name: 'localhost', modules: mergeModules(topModules, new Map()) });
    return hosts;
  }
  const entries = mapping(node, 'hosts');
  if (entries.size === 0) throw new ConfigError('hosts', 'at least one host is needed', { line: node.line });
  for (const [rawName, child] of entries) {
    const scope = `hosts.${rawName}`;
    const name = prepareDomain(rawName);
    if (!name) throw new ConfigError(scope, `${JSON.stringify(rawName)} is not a valid domain name`, { line: child.line });
    if (hosts.has(name)) throw new ConfigError(scope, `host ${name} is listed twice`, { host: name, line: child.line });
    const own = mapping(child, scope, name);
    checkKeys(own, HOST_KEYS, scope, name);
    const lines = new Map<string, number>();
    const str = (key: string): string => {
      const v = own.get(key);
      if (v?.line !== undefined) lines.set(key, v.line);
      if (v === undefined || v.value === null || v.value === undefined) return '';
      if (typeof v.value !== 'string' || v.value === '') throw new ConfigError(`${scope}.${key}`, `expected a file path, got ${JSON.stringify(v.value)}`, { host: name, line: v.line });
      return v.value;
    };
    const files = pathPair(str('certificate'), str('key'), scope, baseDir, lines, name);
    const modules = mergeModules(topModules, parseModuleEntries(own.get('modules'), `${scope}.modules`, known, name));
    hosts.set(name, { name, ...files, modules });
  }
  return hosts;
}

/** ACME needs the CA's terms accepted, an https directory, and an http listener for HTTP-01 (RFC 8555 §8.3). */
function checkAcme(acme: ConfigSection<'acme'>, lines: Map<string, number>, listeners: ListenerConfig[]): void {
  let url: URL | undefined;
  try {
    url = new URL(acme.directory);
  } catch {
    // reported below
  }
  if (url?.protocol !== 'https:') throw new ConfigError('acme.directory', `expected an https URL, got ${JSON.stringify(acme.directory)}`, { line: lines.get('directory') });
  if (!acme.enabled) return;
  if (!acme.agree_tos) throw new ConfigError('acme.agree_tos', `must be true to use ACME: read the terms of service of ${url.host} first`, { line: lines.get('enabled') });
  if (!listeners.some((l) => l.type === 'http')) {
    throw new ConfigError('acme.enabled', 'needs an http listener (on port 80, or forwarded from it) to answer the CA\'s HTTP-01 challenges', { line: lines.get('enabled') });
  }
}

/** Parses config text; relative paths resolve against baseDir (the config file's folder). */
export function parseConfigText(text: string, baseDir: string, opts: ConfigOptions, configPath?: string): ServerConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const first = (err.message.split('\n')[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError('syntax', pos ? `${first} (column ${pos.col})` : first, { line: pos?.line });
  }
  const tree = toRNode(doc.contents, doc, lc, '');
  const root = mapping(tree, '(top level)');
  checkKeys(root, TOP_KEYS, '');

  const dataDirNode = root.get('data_dir');
  const dataDirRaw = dataDirNode?.value ?? (configPath === SYSTEM_CONFIG_PATH ? SYSTEM_DATA_DIR : './data');
  if (typeof dataDirRaw !== 'string' || dataDirRaw === '') throw new ConfigError('data_dir', `expected a folder path, got ${JSON.stringify(dataDirRaw)}`, { line: dataDirNode?.line });
  const dataDir = resolve(baseDir, dataDirRaw);

  const log = section(root, 'log', CONFIG_SECTIONS.log).values;
  const tls = section(root, 'tls', CONFIG_SECTIONS.tls);
  const acme = section(root, 'acme', CONFIG_SECTIONS.acme);
  const storage = section(root, 'storage', CONFIG_SECTIONS.storage).values;
  const limits = section(root, 'limits', CONFIG_SECTIONS.limits).values;
  const auth = section(root, 'auth', CONFIG_SECTIONS.auth);
  const fast = section(root, 'fast', CONFIG_SECTIONS.fast);
  if (fast.values.rotate_after >= fast.values.token_lifetime) {
    throw new ConfigError('fast.rotate_after', 'must be shorter than fast.token_lifetime, or tokens would expire before they are replaced', { line: fast.lines.get('rotate_after') ?? fast.lines.get('token_lifetime') });
  }
  const security = section(root, 'security', CONFIG_SECTIONS.security);
  const blockedIps = security.values.blocked_ips.map((r) => {
    try {
      return parseBlockRule(r).rule;
    } catch (e) {
      throw new ConfigError('security.blocked_ips', (e as Error).message, { line: security.lines.get('blocked_ips') });
    }
  });

  try {
    createSecureContext({ ciphers: tls.values.ciphers });
  } catch {
    throw new ConfigError('tls.ciphers', 'OpenSSL matches no cipher in this list', { line: tls.lines.get('ciphers') });
  }
  const mechanisms = auth.values.mechanisms.map((m) => m.toUpperCase());
  for (const m of mechanisms) {
    if (!(SASL_MECHANISMS as readonly string[]).includes(m)) {
      throw new ConfigError('auth.mechanisms', `unknown mechanism ${m} (known: ${SASL_MECHANISMS.join(', ')})`, { line: auth.lines.get('mechanisms') });
    }
  }
  if (mechanisms.length === 0) throw new ConfigError('auth.mechanisms', 'at least one mechanism is needed', { line: auth.lines.get('mechanisms') });
  const policy = section(root, 'policy', CONFIG_SECTIONS.policy);
  const extraTerms = policy.values.extra_terms.map((t) => t.trim());
  if (extraTerms.some((t) => t === '')) throw new ConfigError('policy.extra_terms', 'an empty rule', { line: policy.lines.get('extra_terms') });

  // The default modules are always on unless set to false; `modules` entries add options or enable more.
  const topModules = new Map<string, HostModuleConfig | false>(opts.defaultModules.map((name) => [name, { options: {}, lines: new Map<string, number>() }]));
  if (root.has('modules')) for (const [name, entry] of parseModuleEntries(root.get('modules'), 'modules', opts.knownModules)) topModules.set(name, entry);

  const listeners = parseListeners(root.get('listeners'));
  checkAcme(acme.values, acme.lines, listeners);

  const config: Omit<ServerConfig, 'policy'> = {
    configPath,
    data_dir: dataDir,
    log: { ...log, file: log.file === '-' ? '-' : resolve(dataDir, log.file), failed_login_file: log.failed_login_file && resolve(dataDir, log.failed_login_file) },
    listeners,
    tls: {
      min_version: tls.values.min_version,
      ciphers: tls.values.ciphers,
      watch: tls.values.watch,
      ...pathPair(tls.values.certificate, tls.values.key, 'tls', baseDir, tls.lines),
    },
    acme: acme.values,
    storage: { ...storage, path: resolve(dataDir, storage.path), key_file: resolve(baseDir, storage.key_file) },
    limits: { ...limits, preauth_max_stanza_size: Math.min(limits.preauth_max_stanza_size, limits.max_stanza_size) },
    auth: { ...auth.values, mechanisms: [...new Set(mechanisms)] },
    fast: fast.values,
    security: { ...security.values, blocked_ips: blockedIps },
    hosts: parseHosts(root.get('hosts'), baseDir, topModules, opts.knownModules),
  };
  return {
    ...config,
    policy: {
      service_name: policy.values.service_name.trim() || ([...config.hosts.keys()][0] ?? ''),
      operator_name: policy.values.operator_name.trim() || CONFIG_SECTIONS.policy.operator_name.default,
      contact: policy.values.contact.trim(),
      jurisdiction: policy.values.jurisdiction.trim(),
      extra_terms: extraTerms,
      ...contactAddresses(policy.values, policy.lines),
    },
  };
}

type AddressKey = `${ContactKind}_addresses`;
/** The kinds an operator's `contact` stands for when their own list is not set. */
const FROM_CONTACT: readonly ContactKind[] = ['abuse', 'admin', 'security', 'support'];
const CONTACT_URI = /^(mailto:[^\s@<>"]+@[^\s@<>"]+|xmpp:[^\s<>"]+|https:\/\/[^\s<>"]+)$/i;

/** `contact` as a XEP-0157 URI: an e-mail address becomes mailto:, a web address stays; anything else none. */
function contactUri(contact: string): string | undefined {
  if (/^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/.test(contact)) return `mailto:${contact}`;
  if (/^https:\/\/[^\s<>"]+$/i.test(contact)) return contact;
  if (/^xmpp:[^\s<>"]+$/i.test(contact)) return contact;
  return undefined;
}

/** XEP-0157 lists: each set one checked (URIs only), each unset one of FROM_CONTACT derived from `contact`. */
function contactAddresses(values: ConfigSection<'policy'>, lines: Map<string, number>): Pick<ConfigSection<'policy'>, AddressKey> {
  const derived = contactUri(values.contact.trim());
  const out = {} as Record<AddressKey, string[]>;
  for (const kind of CONTACT_KINDS) {
    const key: AddressKey = `${kind}_addresses`;
    if (!lines.has(key)) {
      out[key] = derived && FROM_CONTACT.includes(kind) ? [derived] : [];
      continue;
    }
    out[key] = values[key].map((raw) => {
      const uri = raw.trim();
      if (!CONTACT_URI.test(uri)) {
        const hint = /^[^\s@:]+@[^\s@]+$/.test(uri) ? ` (write mailto:${uri} or xmpp:${uri})` : '';
        throw new ConfigError(`policy.${key}`, `expected a mailto:, xmpp: or https: URI, got ${JSON.stringify(raw)}${hint}`, { line: lines.get(key) });
      }
      return uri;
    });
  }
  return out;
}

/** Loads the config file; with no path, the embedded defaults (serving `localhost`) relative to the CWD. */
export function loadConfig(path: string | undefined, opts: ConfigOptions): ServerConfig {
  if (path === undefined) return parseConfigText('', process.cwd(), opts);
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a folder' : String(e);
    throw new ConfigError(abs, `cannot read the config file: ${why}`);
  }
  return parseConfigText(text, dirname(abs), opts, abs);
}
