// Tests for deriving, fingerprinting and dating the policy facts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, type ServerConfig } from '../core/config.ts';
import { builtinModuleNames, defaultModuleNames, moduleRegistry } from '../modules/registry.ts';
import { derivePolicyFacts, policyFingerprint, stampPolicy, type PolicyState } from './facts.ts';

const DAY = 86_400_000;

function config(text: string, known = builtinModuleNames): ServerConfig {
  return parseConfigText(text, '/srv/jabberx', { knownModules: known, defaultModules: defaultModuleNames.filter((m) => known.includes(m)) });
}

function state(over: Partial<PolicyState> = {}): PolicyState {
  return {
    retentionRules: [
      { name: 'failed-login records', maxAgeMs: 15 * 60_000 },
      { name: 'offline messages', host: 'localhost', maxAgeMs: 7 * DAY },
    ],
    encryptionAtRest: { enabled: true, algorithm: 'AES-256-GCM', keyOutsideStore: true },
    blockRules: 0,
    debug: { active: false },
    ...over,
  };
}

describe('derivePolicyFacts', () => {
  it('takes the defaults from the configuration', () => {
    const f = derivePolicyFacts(config(''), state(), moduleRegistry);
    assert.equal(f.serviceName, 'localhost');
    assert.deepEqual(f.hosts, ['localhost']);
    assert.deepEqual(f.operator, { name: 'the operator of this service', contact: '', jurisdiction: '' });
    assert.deepEqual(f.extraTerms, []);
    assert.deepEqual(f.tls, { minVersion: 'TLSv1.2', required: true });
    assert.deepEqual(f.addresses, { logged: false, failedLoginWindowMs: 15 * 60_000 });
    assert.deepEqual(f.logging, { level: 'info', debugOnDemand: true });
    assert.deepEqual(f.deletion, { inBand: false, secureDelete: true });
    assert.deepEqual(f.registration, { enabled: false, captcha: false });
    assert.equal(f.exportAvailable, false);
    assert.equal(f.passwordResetByEmail, false);
    assert.deepEqual(f.archive, { enabled: false });
    assert.equal(f.retentionIntervalMs, 3_600_000);
    assert.deepEqual(f.status, { blockRules: 0, debugActive: false });
  });

  it('lists what is stored: the account, then each enabled module that keeps data', () => {
    const f = derivePolicyFacts(config(''), state(), moduleRegistry);
    assert.deepEqual(f.stored.map((s) => s.source), ['account', 'fast', 'roster', 'vcard', 'private', 'blocking', 'offline', 'muc', 'pep']);
    assert.match(f.stored[0]?.detail ?? '', /SCRAM-SHA-1 and SCRAM-SHA-256/);
    assert.match(f.stored[0]?.detail ?? '', /never the password itself/);
    assert.ok(f.stored.every((s) => s.hosts === undefined));
    const fewer = derivePolicyFacts(config('modules:\n  vcard: false\n  offline: false\n'), state(), moduleRegistry);
    assert.deepEqual(fewer.stored.map((s) => s.source), ['account', 'fast', 'roster', 'private', 'blocking', 'muc', 'pep']);
  });

  it('lists FAST login tokens (XEP-0484) only while FAST is offered, as hashes', () => {
    const fast = derivePolicyFacts(config(''), state(), moduleRegistry).stored.find((s) => s.source === 'fast');
    assert.match(fast?.detail ?? '', /a hash of its login token \(never the token itself\)/);
    assert.match(fast?.detail ?? '', /when your password changes or your account is deleted/);
    assert.ok(!derivePolicyFacts(config('fast: { enabled: false }\n'), state(), moduleRegistry).stored.some((s) => s.source === 'fast'));
  });

  it('names the hosts of data kept on some hosts only', () => {
    const c = config('hosts:\n  example.org: {}\n  chat.example.org:\n    modules:\n      vcard: false\n');
    const f = derivePolicyFacts(c, state(), moduleRegistry);
    assert.deepEqual(f.stored.find((s) => s.source === 'vcard')?.hosts, ['example.org']);
    assert.equal(f.stored.find((s) => s.source === 'roster')?.hosts, undefined);
  });

  it('adds the e-mail address only when password reset by e-mail exists', () => {
    assert.ok(!derivePolicyFacts(config(''), state(), moduleRegistry).stored.some((s) => s.source === 'email'));
    const f = derivePolicyFacts(config('modules:\n  roster: {}\n  email: {}\n'), state({ passwordResetByEmail: true }), moduleRegistry);
    assert.ok(f.stored.some((s) => s.source === 'email'), 'the email module declares the address it keeps');
    assert.equal(f.passwordResetByEmail, true);
  });

  it('takes policy, TLS, log and failed-login settings from the configuration', () => {
    const c = config(`
tls: { min_version: TLSv1.3 }
log: { level: debug }
security: { failed_login_window: 10m, retention_interval: 30m }
policy:
  service_name: Example Chat
  operator_name: Example e.V.
  contact: privacy@example.org
  jurisdiction: Germany (EU)
  extra_terms: [No spam.]
`);
    const f = derivePolicyFacts(c, state(), moduleRegistry);
    assert.equal(f.serviceName, 'Example Chat');
    assert.deepEqual(f.operator, { name: 'Example e.V.', contact: 'privacy@example.org', jurisdiction: 'Germany (EU)' });
    assert.deepEqual(f.extraTerms, ['No spam.']);
    assert.equal(f.tls.minVersion, 'TLSv1.3');
    assert.equal(f.logging.level, 'debug');
    assert.equal(f.addresses.failedLoginWindowMs, 600_000);
    assert.equal(f.retentionIntervalMs, 1_800_000);
  });

  it('groups retention rules: hosts are named only where limits differ', () => {
    const c = config('hosts:\n  example.org: {}\n  chat.example.org: {}\n');
    const same = derivePolicyFacts(c, state({
      retentionRules: [
        { name: 'offline messages', host: 'chat.example.org', maxAgeMs: 7 * DAY },
        { name: 'offline messages', host: 'example.org', maxAgeMs: 7 * DAY },
        { name: 'failed-login records', maxAgeMs: 900_000 },
      ],
    }), moduleRegistry);
    assert.deepEqual(same.retention, [
      { name: 'failed-login records', maxAgeMs: 900_000 },
      { name: 'offline messages', maxAgeMs: 7 * DAY },
    ]);
    const differ = derivePolicyFacts(c, state({
      retentionRules: [
        { name: 'offline messages', host: 'chat.example.org', maxAgeMs: 7 * DAY },
        { name: 'offline messages', host: 'example.org', maxAgeMs: 3 * DAY },
      ],
    }), moduleRegistry);
    assert.deepEqual(differ.retention, [
      { name: 'offline messages', maxAgeMs: 3 * DAY, hosts: ['example.org'] },
      { name: 'offline messages', maxAgeMs: 7 * DAY, hosts: ['chat.example.org'] },
    ]);
  });

  it('passes the run-time state through; the debug end only while debug is on', () => {
    const until = Date.UTC(2025, 0, 2, 3, 4);
    const f = derivePolicyFacts(config(''), state({
      blockRules: 3,
      debug: { active: true, until },
      registration: { enabled: true, captcha: true },
      inBandUnregister: true,
      exportAvailable: true,
      encryptionAtRest: { enabled: false, algorithm: 'AES-256-GCM', keyOutsideStore: false },
    }), moduleRegistry);
    assert.deepEqual(f.status, { blockRules: 3, debugActive: true, debugUntil: '2025-01-02T03:04:00.000Z' });
    assert.deepEqual(f.registration, { enabled: true, captcha: true });
    assert.equal(f.deletion.inBand, true);
    assert.equal(f.exportAvailable, true);
    assert.equal(f.encryptionAtRest.enabled, false);
    assert.equal(derivePolicyFacts(config(''), state({ debug: { active: false, until } }), moduleRegistry).status.debugUntil, undefined);
  });

  it('every module of the registry says what it stores (a required field of the definition)', () => {
    for (const m of moduleRegistry.values()) assert.ok(Array.isArray(m.privacy.stored), m.name);
    assert.ok(moduleRegistry.get('offline')?.privacy.stored.some((d) => /Offline messages/.test(d.what)));
  });

  it('refuses an enabled module it does not know', () => {
    const c = config('modules:\n  mystery: {}\n', [...builtinModuleNames, 'mystery']);
    assert.throws(() => derivePolicyFacts(c, state(), moduleRegistry), /module mystery is not known/);
  });
});

describe('policyFingerprint and stampPolicy', () => {
  const base = derivePolicyFacts(config(''), state(), moduleRegistry);

  it('is a SHA-256 that ignores the status and the date', () => {
    const fp = policyFingerprint(base);
    assert.match(fp, /^[0-9a-f]{64}$/);
    assert.equal(policyFingerprint({ ...base, status: { blockRules: 9, debugActive: true, debugUntil: '2030-01-01T00:00:00.000Z' } }), fp);
    assert.equal(policyFingerprint({ ...base, policyLastChanged: '2020-01-01T00:00:00.000Z' }), fp);
  });

  it('does not depend on key order', () => {
    const reordered = Object.fromEntries(Object.entries(base).reverse()) as typeof base;
    assert.equal(policyFingerprint(reordered), policyFingerprint(base));
  });

  it('changes with every policy-relevant fact', () => {
    const fp = policyFingerprint(base);
    const changed = [
      { ...base, retention: [{ name: 'offline messages', maxAgeMs: 3 * DAY }] },
      { ...base, operator: { ...base.operator, contact: 'a@example.org' } },
      { ...base, encryptionAtRest: { ...base.encryptionAtRest, enabled: false } },
      { ...base, tls: { ...base.tls, minVersion: 'TLSv1.3' } },
      { ...base, archive: { enabled: true } },
      { ...base, extraTerms: ['No spam.'] },
      { ...base, exportAvailable: true },
    ];
    for (const c of changed) assert.notEqual(policyFingerprint(c), fp);
  });

  it('keeps the previous date while the fingerprint is unchanged, and moves it otherwise', () => {
    const t1 = new Date('2025-01-01T00:00:00.000Z');
    const t2 = new Date('2025-06-01T00:00:00.000Z');
    const first = stampPolicy(base, undefined, t1);
    assert.equal(first.facts.policyLastChanged, t1.toISOString());
    assert.deepEqual(first.stamp, { fingerprint: policyFingerprint(base), changed: t1.toISOString() });
    const again = stampPolicy({ ...base, status: { ...base.status, blockRules: 5 } }, first.stamp, t2);
    assert.equal(again.facts.policyLastChanged, t1.toISOString());
    const moved = stampPolicy({ ...base, retention: [] }, first.stamp, t2);
    assert.equal(moved.facts.policyLastChanged, t2.toISOString());
    assert.notEqual(moved.stamp.fingerprint, first.stamp.fingerprint);
  });
});
