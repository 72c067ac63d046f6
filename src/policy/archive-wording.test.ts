// The privacy policy's words about a message archive follow the mam module's configuration: "no
// chat history" without it, and with it the retention the operator set, per host when hosts differ.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../core/config.ts';
import { parseOptions } from '../core/options.ts';
import { builtinModuleNames, defaultModuleNames, moduleRegistry } from '../modules/registry.ts';
import { ARCHIVE_RETENTION, derivePolicyFacts, stampPolicy, type PolicyFacts } from './facts.ts';
import { renderPrivacy } from './render.ts';

/** The facts as the running server derives them: each host's mam retention rule from its options. */
function facts(configText: string): PolicyFacts {
  const c = parseConfigText(configText, '/srv/jabberx', { knownModules: builtinModuleNames, defaultModules: defaultModuleNames });
  const mam = moduleRegistry.get('mam');
  assert.ok(mam);
  const retentionRules = [...c.hosts.values()].flatMap((h) => {
    const m = h.modules.get('mam');
    if (!m) return [];
    const o = parseOptions(mam.options, m.options, 'modules.mam') as { max_age: number };
    return [{ name: ARCHIVE_RETENTION, host: h.name, maxAgeMs: o.max_age }];
  });
  const unstamped = derivePolicyFacts(c, { retentionRules, encryptionAtRest: { enabled: true, algorithm: 'AES-256-GCM', keyOutsideStore: true }, blockRules: 0, debug: { active: false } }, moduleRegistry);
  return stampPolicy(unstamped, undefined, new Date('2026-01-01T00:00:00Z')).facts;
}

/** The plain-text page unwrapped, so sentences match whole. */
const text = (f: PolicyFacts): string => renderPrivacy(f, 'text').replace(/\n(?: {2})?(?=\S)/g, ' ');

describe('privacy policy wording of the message archive', () => {
  it('without the mam module (the default): no archive', () => {
    const f = facts('hosts:\n  example.org: {}\n');
    assert.deepEqual(f.archive, { enabled: false });
    assert.match(text(f), /No chat history is kept: the server passes messages on to the recipient and does not keep an archive of them\./);
    assert.doesNotMatch(text(f), /archive is kept/);
  });

  it('with it on every host: the configured retention, in words', () => {
    const f = facts('hosts:\n  example.org: {}\nmodules:\n  mam:\n    max_age: 30d\n');
    assert.deepEqual(f.archive, { enabled: true });
    const t = text(f);
    assert.match(t, /A message archive is kept: the one-to-one messages you send and receive are stored on the server, encrypted/);
    assert.match(t, /Archived messages are kept for 30 days, then deleted\./);
    assert.match(t, /Archived messages: deleted once older than 30 days\./);
    assert.doesNotMatch(t, /No chat history is kept/);
    assert.match(text(facts('hosts:\n  example.org: {}\nmodules:\n  mam: {}\n')), /Archived messages are kept for 7 days, then deleted\./);
  });

  it('per host when hosts differ: each host with its own limit, and where none is kept', () => {
    const f = facts([
      'hosts:',
      '  example.org:',
      '    modules:',
      '      mam:',
      '        max_age: 30d',
      '  chat.example.org:',
      '    modules:',
      '      mam:',
      '        max_age: 12h',
      '  quiet.example.org: {}',
      '',
    ].join('\n'));
    assert.deepEqual(f.archive, { enabled: true, hosts: ['example.org', 'chat.example.org'] });
    const t = text(f);
    assert.match(t, /A message archive is kept on example\.org and chat\.example\.org:/);
    assert.match(t, /On chat\.example\.org, messages are kept for 12 hours, then deleted\. On example\.org, messages are kept for 30 days, then deleted\./);
    assert.match(t, /On quiet\.example\.org, no chat history is kept/);
  });
});
