// Data a module turned off left behind is stated as kept (facts.ts `leftover`): the policy never
// claims less than what is stored, and says plainly that nothing new is added.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../core/config.ts';
import { builtinModuleNames, defaultModuleNames, moduleRegistry } from '../modules/registry.ts';
import { derivePolicyFacts, policyFingerprint, stampPolicy, type PolicyFacts, type PolicyState } from './facts.ts';
import { renderPrivacy } from './render.ts';

function facts(configText: string, leftover: PolicyState['leftover'] = [], retentionRules: PolicyState['retentionRules'] = []): PolicyFacts {
  const c = parseConfigText(configText, '/srv/jabberx', { knownModules: builtinModuleNames, defaultModules: defaultModuleNames });
  const state: PolicyState = { retentionRules, encryptionAtRest: { enabled: true, algorithm: 'AES-256-GCM', keyOutsideStore: true }, blockRules: 0, debug: { active: false }, leftover };
  return stampPolicy(derivePolicyFacts(c, state, moduleRegistry), undefined, new Date('2026-01-01T00:00:00Z')).facts;
}

const text = (f: PolicyFacts): string => renderPrivacy(f, 'text').replace(/\n(?: {2})?(?=\S)/g, ' ');
const ONE_HOST = 'hosts:\n  example.org: {}\n';
const TWO_HOSTS = 'hosts:\n  example.org: {}\n  chat.example.org: {}\n';

describe('privacy policy: data of modules turned off', () => {
  it('nothing left: the facts are exactly those of the enabled modules (same fingerprint)', () => {
    assert.equal(policyFingerprint(facts(ONE_HOST, [])), policyFingerprint(facts(ONE_HOST)));
    assert.deepEqual(facts(ONE_HOST).archive, { enabled: false });
  });

  it('an archive left behind: no "no chat history" claim, the archive stated as still stored', () => {
    const f = facts(ONE_HOST, [{ host: 'example.org', module: 'mam' }]);
    assert.deepEqual(f.archive, { enabled: true, leftoverOn: ['example.org'] });
    const mam = f.stored.filter((s) => s.source === 'mam');
    assert.ok(mam.length > 0);
    for (const s of mam) assert.deepEqual(s.leftoverOn, ['example.org']);
    const t = text(f);
    assert.doesNotMatch(t, /No chat history is kept/);
    assert.doesNotMatch(t, /A message archive is kept/, 'not offered any more');
    assert.match(t, /No new messages are archived, but a message archive kept earlier is still stored: .* until the operator erases them or your account is deleted\./);
    assert.match(t, /This feature has been turned off: what it stored before is still kept, with no time limit/);
  });

  it('per host: on where it is on, left behind on another, nothing on a third', () => {
    const cfg = 'hosts:\n  example.org:\n    modules:\n      mam: {}\n  chat.example.org: {}\n  quiet.example.org: {}\n';
    const f = facts(cfg, [{ host: 'chat.example.org', module: 'mam' }], [{ name: 'archived messages', host: 'example.org', maxAgeMs: 7 * 86_400_000 }]);
    assert.deepEqual(f.archive, { enabled: true, hosts: ['example.org', 'chat.example.org'], leftoverOn: ['chat.example.org'] });
    const t = text(f);
    assert.match(t, /A message archive is kept on example.org and chat.example.org/);
    assert.match(t, /On chat.example.org, the archive has been turned off: no new messages are archived there, but those archived before stay stored until the operator erases them/);
    assert.match(t, /On quiet.example.org, no chat history is kept/);
  });

  it('another module left behind (upload) on one of two hosts: listed, only there, as left behind', () => {
    const f = facts(TWO_HOSTS, [{ host: 'chat.example.org', module: 'upload' }]);
    const upload = f.stored.filter((s) => s.source === 'upload');
    assert.ok(upload.length > 0);
    for (const s of upload) {
      assert.deepEqual(s.hosts, ['chat.example.org']);
      assert.deepEqual(s.leftoverOn, ['chat.example.org']);
    }
    assert.match(text(f), /only on chat.example.org: .*This feature has been turned off: what it stored before is still kept, with no time limit/);
  });

  it('a module that is on is never "left behind", whatever the state says', () => {
    const cfg = 'hosts:\n  example.org: {}\nmodules:\n  mam: {}\n';
    const f = facts(cfg, [{ host: 'example.org', module: 'mam' }]);
    assert.deepEqual(f.archive, { enabled: true });
    for (const s of f.stored) assert.equal(s.leftoverOn, undefined);
  });
});
