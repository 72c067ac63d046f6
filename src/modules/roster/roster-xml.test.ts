// RFC 6121 §2.1 item syntax and §2.3.3 roster set error cases; XEP-0237 version strings.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { el, type Element } from '../../core/xml/element.ts';
import { StanzaError } from '../../core/errors.ts';
import { NS_ROSTER, itemElement, parseRosterSet } from './roster-xml.ts';
import { formatVer, isCurrent, nextMeta } from './versioning.ts';
import { subState, withState } from './roster-store.ts';

const limits = { maxNameLength: 10, maxGroups: 3 };
const query = (...items: Element[]) => el('query', { xmlns: NS_ROSTER }, ...items);
const item = (attrs: Record<string, string>, ...groups: string[]) => el('item', attrs, ...groups.map((g) => el('group', {}, g)));

function condition(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StanzaError, String(e));
    return e.condition;
  }
  return 'no error';
}

describe('parseRosterSet (§2.3.3)', () => {
  it('accepts one item with a name and groups', () => {
    const r = parseRosterSet(query(item({ jid: 'Bob@Example.com', name: 'Bob' }, 'Friends', 'Work')), limits);
    assert.equal(r.jid.toString(), 'bob@example.com');
    assert.equal(r.name, 'Bob');
    assert.deepEqual(r.groups, ['Friends', 'Work']);
    assert.equal(r.remove, false);
  });

  it('reads subscription="remove" as a removal and ignores other subscription values', () => {
    assert.equal(parseRosterSet(query(item({ jid: 'b@x', subscription: 'remove' })), limits).remove, true);
    const r = parseRosterSet(query(item({ jid: 'b@x', subscription: 'both', ask: 'subscribe', approved: 'true' })), limits);
    assert.equal(r.remove, false);
  });

  it('treats an empty name as no name', () => {
    assert.equal(parseRosterSet(query(item({ jid: 'b@x', name: '' })), limits).name, undefined);
  });

  it('rejects structural errors with bad-request', () => {
    assert.equal(condition(() => parseRosterSet(query(), limits)), 'bad-request');
    assert.equal(condition(() => parseRosterSet(query(item({ jid: 'a@x' }), item({ jid: 'b@x' })), limits)), 'bad-request');
    assert.equal(condition(() => parseRosterSet(query(el('foo', { jid: 'a@x' })), limits)), 'bad-request');
    assert.equal(condition(() => parseRosterSet(query(item({ name: 'no jid' })), limits)), 'bad-request');
    assert.equal(condition(() => parseRosterSet(query(item({ jid: 'a@x' }, 'G', 'G')), limits)), 'bad-request');
  });

  it('rejects a malformed JID with jid-malformed', () => {
    assert.equal(condition(() => parseRosterSet(query(item({ jid: '@x' })), limits)), 'jid-malformed');
    assert.equal(condition(() => parseRosterSet(query(item({ jid: '' })), limits)), 'jid-malformed');
  });

  it('rejects over-long names, empty or over-long groups with not-acceptable', () => {
    assert.equal(condition(() => parseRosterSet(query(item({ jid: 'a@x', name: 'x'.repeat(11) })), limits)), 'not-acceptable');
    assert.equal(condition(() => parseRosterSet(query(item({ jid: 'a@x' }, '')), limits)), 'not-acceptable');
    assert.equal(condition(() => parseRosterSet(query(item({ jid: 'a@x' }, 'g'.repeat(11))), limits)), 'not-acceptable');
    assert.equal(condition(() => parseRosterSet(query(item({ jid: 'a@x' }, 'a', 'b', 'c', 'd')), limits)), 'not-acceptable');
  });

  it('counts characters, not UTF-16 units, against the length limit', () => {
    assert.equal(parseRosterSet(query(item({ jid: 'a@x', name: '😀'.repeat(10) })), limits).name, '😀'.repeat(10));
  });
});

describe('itemElement (§2.1.2)', () => {
  it("shows ask and approved, never the pending-in state", () => {
    const x = itemElement('b@x', { name: 'B', groups: ['G'], subscription: 'none', ask: 'subscribe', approved: true, pendingIn: true });
    assert.equal(x.toString(), '<item jid="b@x" name="B" subscription="none" ask="subscribe" approved="true"><group>G</group></item>');
  });
});

describe('stored state helpers', () => {
  it('maps ask/pendingIn to the Appendix A flags and back, keeping name, groups and approval', () => {
    const it0 = { name: 'B', groups: ['G'], subscription: 'none' as const, approved: true as const, pendingIn: true as const, pendingStatus: 'hi' };
    assert.deepEqual(subState(it0), { subscription: 'none', pendingOut: false, pendingIn: true });
    const next = withState(it0, { subscription: 'from', pendingOut: true, pendingIn: false });
    assert.deepEqual(next, { name: 'B', groups: ['G'], subscription: 'from', approved: true, ask: 'subscribe' });
  });
});

describe('versioning (XEP-0237)', () => {
  it('counts up within one epoch and only the exact current version is current', () => {
    const m1 = nextMeta(undefined);
    const m2 = nextMeta(m1);
    assert.equal(m2.epoch, m1.epoch);
    assert.equal(m2.counter, m1.counter + 1);
    assert.equal(isCurrent(formatVer(m2), m2), true);
    assert.equal(isCurrent(formatVer(m1), m2), false);
    assert.equal(isCurrent('', m2), false);
    assert.equal(isCurrent(undefined, m2), false);
  });

  it('never matches a version of an earlier roster of the same name', () => {
    const old = nextMeta(nextMeta(undefined));
    const fresh = nextMeta(nextMeta(undefined));
    assert.notEqual(formatVer(old), formatVer(fresh));
  });
});
