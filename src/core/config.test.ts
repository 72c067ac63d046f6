// Tests for configuration loading and validation (defaults, the example file, error messages).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.ts';
import { DEFAULT_CIPHERS, loadConfig, parseConfigText, prepareDomain, type ServerConfig } from './config.ts';

const MODULES = ['disco', 'offline', 'vcard', 'ping', 'roster'];
const opts = { knownModules: MODULES, defaultModules: ['disco', 'ping', 'roster'] };
const EXAMPLE = fileURLToPath(new URL('../../jabberx.example.yml', import.meta.url));

function parse(text: string, base = '/srv/jabberx'): ServerConfig {
  return parseConfigText(text, base, opts);
}

/** Asserts that parsing fails with a ConfigError whose message contains every fragment. */
function fails(text: string, ...fragments: (string | RegExp)[]): ConfigError {
  let caught: unknown;
  try {
    parse(text);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  for (const f of fragments) {
    if (typeof f === 'string') assert.ok(caught.message.includes(f), `${JSON.stringify(caught.message)} lacks ${JSON.stringify(f)}`);
    else assert.match(caught.message, f);
  }
  return caught;
}

describe('config defaults', () => {
  it('with no file, serves localhost with the documented defaults', () => {
    const c = loadConfig(undefined, opts);
    assert.equal(c.configPath, undefined);
    assert.equal(c.data_dir, join(process.cwd(), 'data'));
    assert.deepEqual(c.log, { level: 'info', file: '-', format: 'auto', account_names: false, failed_login_file: '', failed_login_retention: 86_400_000 });
    assert.deepEqual(c.listeners, [
      { type: 'c2s_starttls', port: 5222, address: '::' },
      { type: 'c2s_direct_tls', port: 5223, address: '::' },
    ]);
    assert.deepEqual(c.tls, { min_version: 'TLSv1.2', ciphers: DEFAULT_CIPHERS, watch: true });
    assert.deepEqual(c.acme, { enabled: false, directory: 'https://acme-v02.api.letsencrypt.org/directory', email: '', agree_tos: false, renew_before: 30 * 86_400_000 });
    assert.deepEqual(c.storage, {
      backend: 'sqlite',
      path: join(process.cwd(), 'data', 'jabberx.sqlite'),
      key_provider: 'file',
      key_file: join(process.cwd(), 'jabberx.key'),
      key_env: 'JABBERX_MASTER_KEY',
      key_command: '',
      busy_wait: 30_000,
    });
    assert.deepEqual(c.limits, {
      max_stanza_size: 256 * 1024,
      preauth_max_stanza_size: 10000,
      idle_timeout: 5 * 60_000,
      ping_timeout: 60_000,
      tls_timeout: 10_000,
      handshake_timeout: 30_000,
      max_resources_per_user: 10,
      v8_semi_space: 2 << 20,
      max_output_buffer: 1 << 20,
      output_stall_timeout: 30_000,
      max_unauthenticated: 2000,
      max_unauthenticated_per_address: 20,
      connection_rate_per_address: 10,
      connection_burst_per_address: 50,
      sm_resume_timeout: 300_000,
      sm_max_unacked: 500,
      sm_max_unacked_bytes: 4 << 20,
      sm_max_resumable: 10000,
    });
    assert.deepEqual(c.auth, {
      scram_iterations: 10000,
      mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-1', 'PLAIN'],
      resource_conflict: 'kick_old',
    });
    assert.deepEqual([...c.hosts.keys()], ['localhost']);
    assert.deepEqual([...(c.hosts.get('localhost')?.modules.keys() ?? [])], ['disco', 'ping', 'roster']);
  });

  it('an empty file or empty sections mean the defaults', () => {
    const empty = parse('');
    const sections = parse('log:\nlimits:\ntls: {}\nlisteners:\nhosts:\n');
    assert.deepEqual(sections, empty);
  });

  it('the example file parses and documents exactly the defaults', () => {
    const example = loadConfig(EXAMPLE, opts);
    assert.equal(example.configPath, EXAMPLE);
    const defaults = parseConfigText('', dirname(EXAMPLE), opts);
    // Listeners read from a file carry their line; the embedded defaults have none.
    const listeners = example.listeners.map(({ line, ...rest }) => (assert.ok(line), rest));
    assert.deepEqual({ ...example, configPath: undefined, listeners }, defaults);
  });

  it('fast: token lifetime and rotation as periods; rotation must come before expiry', () => {
    assert.deepEqual(parseConfigText('', '/srv', opts).fast, { enabled: true, token_lifetime: 21 * 86_400_000, rotate_after: 86_400_000, max_clients_per_account: 10 });
    assert.deepEqual(parseConfigText('fast: { token_lifetime: 14d, rotate_after: 12h, max_clients_per_account: 3 }\n', '/srv', opts).fast, { enabled: true, token_lifetime: 14 * 86_400_000, rotate_after: 12 * 3_600_000, max_clients_per_account: 3 });
    assert.throws(() => parseConfigText('fast:\n  token_lifetime: 1d\n  rotate_after: 2d\n', '/srv', opts), /fast\.rotate_after \(line 3\): must be shorter than fast\.token_lifetime/);
    assert.throws(() => parseConfigText('fast: { token_lifetime: 10s }\n', '/srv', opts), /fast\.token_lifetime/);
  });

  it('data_dir defaults to /var/lib/jabberx for the system configuration, else ./data beside the file', () => {
    assert.equal(parseConfigText('', '/etc/jabberx', opts, '/etc/jabberx/jabberx.yml').data_dir, '/var/lib/jabberx');
    assert.equal(parseConfigText('data_dir: /srv/x\n', '/etc/jabberx', opts, '/etc/jabberx/jabberx.yml').data_dir, '/srv/x');
    assert.equal(parseConfigText('', '/home/op', opts, '/home/op/jabberx.yml').data_dir, '/home/op/data');
    assert.equal(parseConfigText('', '/etc/jabberx', opts).data_dir, '/etc/jabberx/data');
  });
});

describe('config: a full file', () => {
  const text = `
data_dir: /var/lib/jabberx
log: { level: debug, file: logs/jabberx.log }
listeners:
  - { type: c2s_starttls, port: 5222, address: "127.0.0.1" }
  - { type: c2s_direct_tls, address: "::1" }
  - { type: c2s_starttls, port: 0 }
  - { type: c2s_starttls, port: 0 }
tls:
  min_version: TLSv1.3
  ciphers: ECDHE-ECDSA-AES128-GCM-SHA256
  certificate: certs/all.pem
  key: certs/all.key
storage: { backend: sqlite, path: /tmp/x.db }
limits:
  max_stanza_size: 64KiB
  idle_timeout: 90s
  handshake_timeout: 500ms
  max_resources_per_user: 3
auth:
  scram_iterations: 4096
  mechanisms: [scram-sha-256, PLAIN]
  resource_conflict: random
modules:
  disco: {}
  offline: { max_age: 7d, max_messages: 100 }
  vcard: true
  ping: false
hosts:
  Example.ORG.:
    certificate: /etc/ssl/example.pem
    key: /etc/ssl/example.key
    modules:
      offline: { max_age: 3d }
      vcard: false
      ping:
  chat.example.net:
`;
  const c = parse(text);

  it('reads every section', () => {
    assert.equal(c.data_dir, '/var/lib/jabberx');
    assert.deepEqual(c.log, { level: 'debug', file: '/var/lib/jabberx/logs/jabberx.log', format: 'auto', account_names: false, failed_login_file: '', failed_login_retention: 86_400_000 });
    assert.deepEqual(c.listeners.map((l) => [l.type, l.port, l.address, l.line]), [
      ['c2s_starttls', 5222, '127.0.0.1', 5],
      ['c2s_direct_tls', 5223, '::1', 6],
      ['c2s_starttls', 0, '::', 7],
      ['c2s_starttls', 0, '::', 8],
    ]);
    assert.deepEqual(c.tls, {
      min_version: 'TLSv1.3',
      ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256',
      certificate: '/srv/jabberx/certs/all.pem',
      key: '/srv/jabberx/certs/all.key',
      watch: true,
    });
    assert.deepEqual(c.storage, {
      backend: 'sqlite',
      path: '/tmp/x.db',
      key_provider: 'file',
      key_file: '/srv/jabberx/jabberx.key',
      key_env: 'JABBERX_MASTER_KEY',
      key_command: '',
      busy_wait: 30_000,
    });
    assert.deepEqual({ ...c.limits }, { ...c.limits, max_stanza_size: 65536, idle_timeout: 90_000, handshake_timeout: 500, max_resources_per_user: 3, v8_semi_space: 2 << 20 });
    assert.deepEqual(c.auth, { scram_iterations: 4096, mechanisms: ['SCRAM-SHA-256', 'PLAIN'], resource_conflict: 'random' });
  });

  it('prepares host names and merges host modules over the top-level ones', () => {
    assert.deepEqual([...c.hosts.keys()], ['example.org', 'chat.example.net']);
    const org = c.hosts.get('example.org');
    assert.equal(org?.certificate, '/etc/ssl/example.pem');
    assert.equal(org?.key, '/etc/ssl/example.key');
    assert.deepEqual([...(org?.modules.keys() ?? [])], ['disco', 'roster', 'offline', 'ping']);
    const offline = org?.modules.get('offline');
    assert.deepEqual(offline?.options, { max_age: '3d', max_messages: 100 });
    assert.equal(offline?.lines.get('max_age'), 34);
    assert.equal(offline?.lines.get('max_messages'), 26);
    assert.equal(offline?.line, 34);
    const net = c.hosts.get('chat.example.net');
    assert.equal(net?.certificate, undefined);
    assert.deepEqual([...(net?.modules.keys() ?? [])], ['disco', 'roster', 'offline', 'vcard']);
    assert.deepEqual(net?.modules.get('offline')?.options, { max_age: '7d', max_messages: 100 });
  });

  it('prepares domains (RFC 7622 §3.2)', () => {
    assert.equal(prepareDomain('LocalHost'), 'localhost');
    assert.equal(prepareDomain('example.com.'), 'example.com');
    assert.equal(prepareDomain('BÜCHER.example'), 'bücher.example');
    assert.equal(prepareDomain('xn--bcher-kva.example'), 'bücher.example');
    assert.equal(prepareDomain('-bad.example'), undefined);
    assert.equal(prepareDomain('a..b'), undefined);
    assert.equal(prepareDomain('user@example.com'), undefined);
    assert.equal(prepareDomain('exa mple.com'), undefined);
    assert.equal(prepareDomain('x'.repeat(64) + '.com'), undefined);
  });
});

describe('config errors name the option, host and line', () => {
  it('unknown keys, with the full dotted path', () => {
    fails('limits:\n  idle_timeout: 5m\n  max_stanza_sise: 1MB\n', 'config: limits.max_stanza_sise (line 3): unknown option');
    fails('\nlogg: {}\n', 'config: logg (line 2): unknown option');
    fails('hosts:\n  example.org:\n    certficate: a.pem\n', 'hosts.example.org.certficate', 'host example.org', 'line 3', 'unknown option');
    fails('listeners:\n  - type: c2s_starttls\n    prot: 5222\n', 'listeners[0].prot', 'line 3');
  });

  it('bad values', () => {
    fails('limits:\n  max_stanza_size: 9000\n', 'limits.max_stanza_size (line 2)', 'at least 10000 bytes');
    fails('limits:\n  idle_timeout: soon\n', 'limits.idle_timeout (line 2)', 'expected a period');
    fails('auth:\n  scram_iterations: 1000\n', 'auth.scram_iterations (line 2)', 'at least 4096');
    fails('auth:\n  scram_iterations: 4096.5\n', 'auth.scram_iterations', 'whole number');
    fails('auth:\n  mechanisms: [SCRAM-SHA-256, DIGEST-MD5]\n', 'auth.mechanisms (line 2)', 'DIGEST-MD5');
    fails('auth:\n  mechanisms: []\n', 'auth.mechanisms', 'at least one');
    fails('auth:\n  resource_conflict: newest\n', 'auth.resource_conflict (line 2)', 'kick_old');
    fails('log:\n  level: loud\n', 'log.level (line 2)');
    fails('storage:\n  backend: mysql\n', 'storage.backend (line 2)', 'sqlite');
    fails('storage:\n  busy_wait: soon\n', 'storage.busy_wait (line 2)', 'period');
    assert.equal(parse('storage:\n  busy_wait: 2s\n').storage.busy_wait, 2000);
    fails('tls:\n  min_version: TLSv1.1\n', 'tls.min_version (line 2)', 'RFC 8996');
    fails('tls:\n  min_version: TLSv1\n', 'tls.min_version (line 2)', 'insecure');
    fails('tls:\n  ciphers: NOT-A-CIPHER\n', 'tls.ciphers (line 2)');
    fails('tls:\n  certificate: a.pem\n', 'tls.key', 'without its key', 'line 2');
    fails('limits: 5\n', 'limits (line 1)', 'expected a mapping');
    fails('data_dir: 7\n', 'data_dir (line 1)');
    fails('- a\n- b\n', '(top level)', 'expected a mapping');
  });

  it('listeners', () => {
    fails('listeners:\n  - { type: c2s_starttls, port: 5222 }\n  - { type: c2s_direct_tls, port: 5222 }\n', 'listeners[1].port (line 3)', 'already used by listeners[0]');
    fails('listeners:\n  - { port: 5222 }\n', 'listeners[0].type (line 2)', 'required');
    fails('listeners:\n  - { type: s2s, port: 5269 }\n', 'listeners[0].type (line 2)');
    fails('listeners:\n  - { type: c2s_starttls, port: 70000 }\n', 'listeners[0].port', 'at most 65535');
    fails('listeners:\n  - { type: c2s_starttls, address: "example.org" }\n', 'listeners[0].address', 'IP address');
    fails('listeners: []\n', 'listeners (line 1)', 'at least one');
  });

  it('hosts', () => {
    fails('hosts:\n  localhost: {}\n  "bad_host!": {}\n', 'hosts.bad_host!', 'line 3', 'not a valid domain');
    fails('hosts:\n  example.org: {}\n  EXAMPLE.org: {}\n', 'listed twice', 'line 3');
    fails('hosts: {}\n', 'hosts', 'at least one host');
    fails('hosts:\n  example.org:\n    key: a.key\n', 'hosts.example.org.certificate', 'host example.org');
  });

  it('modules', () => {
    fails('modules:\n  disco: {}\n  muc: {}\n', 'config: modules.muc (line 3): unknown module');
    fails('hosts:\n  example.org:\n    modules:\n      foo: {}\n', 'hosts.example.org.modules.foo', 'host example.org', 'line 4', 'unknown module');
    fails('modules:\n  offline: 7\n', 'modules.offline (line 2)', 'true or false');
  });

  it('YAML syntax errors and duplicate keys carry the line', () => {
    fails('log:\n  level: info\n  file: [a, b\n', 'config: syntax (line');
    fails('log:\n  level: info\n  level: debug\n', 'config: syntax (line 3)', 'unique');
    fails('a: 1\n---\nb: 2\n', 'config: syntax');
  });
});

describe('loadConfig', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jabberx-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves data_dir and certificate paths against the file folder', () => {
    const file = join(dir, 'jabberx.yml');
    writeFileSync(file, 'data_dir: state\ntls:\n  certificate: tls/c.pem\n  key: tls/k.pem\nhosts:\n  example.org:\n    certificate: h.pem\n    key: /abs/h.key\n');
    const c = loadConfig(file, opts);
    assert.equal(c.configPath, file);
    assert.equal(c.data_dir, join(dir, 'state'));
    assert.equal(c.storage.path, join(dir, 'state', 'jabberx.sqlite'));
    assert.equal(c.tls.certificate, join(dir, 'tls/c.pem'));
    assert.equal(c.hosts.get('example.org')?.certificate, join(dir, 'h.pem'));
    assert.equal(c.hosts.get('example.org')?.key, '/abs/h.key');
  });

  it('names a missing file', () => {
    const missing = join(dir, 'nope.yml');
    assert.throws(() => loadConfig(missing, opts), (e: unknown) => e instanceof ConfigError && e.message.includes(missing) && e.message.includes('no such file'));
  });
});

describe('config: policy and http listeners', () => {
  it('defaults: the first host names the service; no http listener unless configured', () => {
    const c = parse('hosts:\n  chat.example.org: {}\n  example.org: {}\n');
    assert.deepEqual(c.policy, {
      service_name: 'chat.example.org',
      operator_name: 'the operator of this service',
      contact: '',
      jurisdiction: '',
      extra_terms: [],
      abuse_addresses: [], admin_addresses: [], feedback_addresses: [], sales_addresses: [], security_addresses: [], status_addresses: [], support_addresses: [],
    });
    assert.ok(c.listeners.every((l) => l.type !== 'http' && l.type !== 'https'));
  });

  it('reads every policy key', () => {
    const c = parse(`policy:
  service_name: "  Example Chat "
  operator_name: Example e.V.
  contact: privacy@example.org
  jurisdiction: Germany (EU)
  extra_terms: ["No spam.", " No malware. "]
`);
    assert.deepEqual(c.policy, {
      service_name: 'Example Chat',
      operator_name: 'Example e.V.',
      contact: 'privacy@example.org',
      jurisdiction: 'Germany (EU)',
      extra_terms: ['No spam.', 'No malware.'],
      // XEP-0157: `contact` stands for the abuse, admin, security and support addresses by default.
      abuse_addresses: ['mailto:privacy@example.org'], admin_addresses: ['mailto:privacy@example.org'], feedback_addresses: [], sales_addresses: [],
      security_addresses: ['mailto:privacy@example.org'], status_addresses: [], support_addresses: ['mailto:privacy@example.org'],
    });
  });

  it('XEP-0157 addresses: set lists replace the derived ones, [] opts out, only mailto:/xmpp:/https: URIs', () => {
    const c = parse(`policy:
  contact: https://example.org/contact
  abuse_addresses: ["mailto:abuse@example.org", "xmpp:abuse@example.org"]
  security_addresses: []
  sales_addresses: [" https://example.org/sales "]
`);
    assert.deepEqual(c.policy.abuse_addresses, ['mailto:abuse@example.org', 'xmpp:abuse@example.org']);
    assert.deepEqual(c.policy.admin_addresses, ['https://example.org/contact']);
    assert.deepEqual(c.policy.security_addresses, []);
    assert.deepEqual(c.policy.sales_addresses, ['https://example.org/sales']);
    assert.deepEqual(parse('policy:\n  contact: write to the post office\n').policy.support_addresses, []);
    fails('policy:\n  abuse_addresses: ["abuse@example.org"]\n', 'policy.abuse_addresses (line 2)', 'mailto:abuse@example.org');
    fails('policy:\n  support_addresses: ["http://example.org/help"]\n', 'policy.support_addresses (line 2)', 'mailto:, xmpp: or https: URI');
  });

  it('http and https listeners default to ports 5280 and 5281', () => {
    const c = parse('listeners:\n  - { type: c2s_starttls }\n  - { type: http, address: "127.0.0.1" }\n  - { type: https }\n');
    assert.deepEqual(c.listeners.map((l) => [l.type, l.port, l.address, l.line]), [
      ['c2s_starttls', 5222, '::', 2],
      ['http', 5280, '127.0.0.1', 3],
      ['https', 5281, '::', 4],
    ]);
    fails('listeners:\n  - { type: http }\n  - { type: c2s_starttls, port: 5280 }\n', 'listeners[1].port (line 3)', 'already used by listeners[0]');
    fails('listeners:\n  - { type: gopher }\n', 'listeners[0].type (line 2)', 'http');
  });

  it('policy errors carry their line', () => {
    fails('\npolicy:\n  operator: me\n', 'config: policy.operator (line 3): unknown option');
    fails('policy:\n  contact: 42\n', 'policy.contact (line 2)', 'expected a string');
    fails('policy:\n  extra_terms: No spam.\n', 'policy.extra_terms (line 2)', 'list of strings');
    fails('policy:\n  extra_terms: ["a", 3]\n', 'policy.extra_terms (line 2)', 'list of strings');
    fails('policy:\n  extra_terms: ["ok", "  "]\n', 'policy.extra_terms (line 2)', 'empty rule');
    fails('policy: yes\n', 'policy (line 1)', 'expected a mapping');
  });
});

describe('config: acme', () => {
  const http = 'listeners: [{ type: http, port: 80 }]\n';

  it('is off by default, and reads every key', () => {
    const c = parse(`${http}acme: { enabled: true, agree_tos: true, directory: "https://ca.example/dir", email: ops@example.org, renew_before: 20d }\n`);
    assert.deepEqual(c.acme, { enabled: true, agree_tos: true, directory: 'https://ca.example/dir', email: 'ops@example.org', renew_before: 20 * 86_400_000 });
  });

  it('needs the terms accepted, an https directory and an http listener', () => {
    fails(`${http}acme:\n  enabled: true\n`, 'config: acme.agree_tos (line 3): must be true to use ACME: read the terms of service of acme-v02.api.letsencrypt.org first');
    fails(`${http}acme: { directory: "http://ca.example/dir" }\n`, 'config: acme.directory (line 2): expected an https URL, got "http://ca.example/dir"');
    fails('acme:\n  enabled: true\n  agree_tos: true\n', 'config: acme.enabled (line 2): needs an http listener');
    fails(`${http}acme: { renew_before: 1h }\n`, 'acme.renew_before', 'at least');
  });
});
