// Tests for the registry's declarations: the default module set, and that a module which stores
// data doesn't switch itself on for existing installs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { builtinModuleNames, defaultModuleNames, moduleRegistry } from './registry.ts';

/**
 * Modules that store data and were on by default before modules said so themselves. A new module
 * that stores data starts off (`enabledByDefault: false`); adding a name here is a decision to
 * store data on every existing install after an upgrade, and the privacy policy changes with it.
 */
// muc: the policy promises group chats; it stores nothing until someone makes a persistent room.
// pep: issue 12 requires OMEMO (XEP-0384 keys in PEP) to work on a default install.
const STORING_AND_ON_BY_DEFAULT = ['roster', 'vcard', 'private', 'blocking', 'offline', 'muc', 'pep'];

describe('module registry', () => {
  it('derives the default module set from each module\'s enabledByDefault: every built-in but the opt-in ones that store data', () => {
    assert.deepEqual(defaultModuleNames, builtinModuleNames.filter((n) => moduleRegistry.get(n)?.enabledByDefault));
    assert.deepEqual(builtinModuleNames.filter((n) => !defaultModuleNames.includes(n)), ['invites', 'email', 'web-account', 'upload', 'e2e-policy', 'external-services', 'mam', 'pubsub']);
  });

  it('has the dependencies of every default module on by default too', () => {
    for (const name of defaultModuleNames) {
      for (const dep of moduleRegistry.get(name)?.dependencies ?? []) assert.ok(defaultModuleNames.includes(dep), `${name} needs ${dep}`);
    }
  });

  it('switches no other module that stores data on by default', () => {
    const storing = defaultModuleNames.filter((n) => Object.keys(moduleRegistry.get(n)?.stores ?? {}).length > 0);
    assert.deepEqual(storing.sort(), [...STORING_AND_ON_BY_DEFAULT].sort());
  });

  it('states what every declared store keeps, in words', () => {
    for (const mod of moduleRegistry.values()) {
      for (const [store, decl] of Object.entries(mod.stores)) {
        if ('partOf' in decl) continue;
        assert.ok(decl.what.trim() && decl.detail.trim(), `${mod.name}.${store}`);
      }
      assert.equal(mod.privacy.stored.length, Object.values(mod.stores).filter((d) => !('partOf' in d)).length, mod.name);
    }
  });
});
