// XEP-0191 "JID Matching": JID matching of blocklist items.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseJid } from '../../core/jid.ts';
import { isCovered } from './matching.ts';

const covered = (items: string[], jid: string): boolean => isCovered(new Set(items), parseJid(jid));

describe('XEP-0191 JID matching', () => {
  it('an empty list covers nothing', () => {
    assert.equal(covered([], 'romeo@montague.net'), false);
  });

  it('user@domain/resource: only that resource matches', () => {
    const items = ['romeo@montague.net/orchard'];
    assert.equal(covered(items, 'romeo@montague.net/orchard'), true);
    assert.equal(covered(items, 'romeo@montague.net/garden'), false);
    assert.equal(covered(items, 'romeo@montague.net'), false);
  });

  it('user@domain: any resource matches, and the bare JID itself', () => {
    const items = ['romeo@montague.net'];
    assert.equal(covered(items, 'romeo@montague.net'), true);
    assert.equal(covered(items, 'romeo@montague.net/orchard'), true);
    assert.equal(covered(items, 'benvolio@montague.net/orchard'), false);
    assert.equal(covered(items, 'montague.net'), false);
  });

  it('domain/resource: only that resource on the domain', () => {
    const items = ['montague.net/bot'];
    assert.equal(covered(items, 'montague.net/bot'), true);
    assert.equal(covered(items, 'montague.net/other'), false);
    assert.equal(covered(items, 'montague.net'), false);
    assert.equal(covered(items, 'romeo@montague.net/bot'), true);
    assert.equal(covered(items, 'romeo@montague.net'), false);
  });

  it('domain: the domain, its users, its resources and its subdomains', () => {
    const items = ['montague.net'];
    for (const j of ['montague.net', 'montague.net/x', 'romeo@montague.net', 'romeo@montague.net/orchard', 'muc.montague.net', 'room@muc.montague.net/nick']) {
      assert.equal(covered(items, j), true, j);
    }
    for (const j of ['capulet.com', 'notmontague.net', 'romeo@montague.net.evil.com', 'montague.network']) {
      assert.equal(covered(items, j), false, j);
    }
  });

  it('IP-address domains match only exactly', () => {
    assert.equal(covered(['0.0.1'], 'user@127.0.0.1'), false);
    assert.equal(covered(['127.0.0.1'], 'user@127.0.0.1/r'), true);
  });

  it('is case-insensitive where JIDs are, through preparation', () => {
    const items = [parseJid('Romeo@Montague.NET').toString()];
    assert.equal(covered(items, 'ROMEO@montague.net/Orchard'), true);
  });
});
