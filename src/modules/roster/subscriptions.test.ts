// RFC 6121 Appendix A: every row of the eight tables (A.2.1–A.2.4 outbound, A.3.1–A.3.4 inbound),
// plus §3.4 pre-approval.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  STATE_NAMES, inbound, nameOf, outbound, stateOf,
  type StateName, type SubscriptionType,
} from './subscriptions.ts';

// [existing state, route/deliver?, new state ('-' = no state change)], transcribed from the RFC.
type Rows = [StateName, boolean, StateName | '-'][];

const A2: Record<SubscriptionType, Rows> = {
  subscribe: [
    ['None', true, 'None + Pending Out'],
    ['None + Pending Out', true, '-'],
    ['None + Pending In', true, 'None + Pending Out+In'],
    ['None + Pending Out+In', true, '-'],
    ['To', true, '-'],
    ['To + Pending In', true, '-'],
    ['From', true, 'From + Pending Out'],
    ['From + Pending Out', true, '-'],
    ['Both', true, '-'],
  ],
  unsubscribe: [
    ['None', true, '-'],
    ['None + Pending Out', true, 'None'],
    ['None + Pending In', true, '-'],
    ['None + Pending Out+In', true, 'None + Pending In'],
    ['To', true, 'None'],
    ['To + Pending In', true, 'None + Pending In'],
    ['From', true, '-'],
    ['From + Pending Out', true, 'From'],
    ['Both', true, 'From'],
  ],
  subscribed: [
    ['None', false, '-'],
    ['None + Pending Out', false, '-'],
    ['None + Pending In', true, 'From'],
    ['None + Pending Out+In', true, 'From + Pending Out'],
    ['To', false, '-'],
    ['To + Pending In', true, 'Both'],
    ['From', false, '-'],
    ['From + Pending Out', false, '-'],
    ['Both', false, '-'],
  ],
  unsubscribed: [
    ['None', false, '-'],
    ['None + Pending Out', false, '-'],
    ['None + Pending In', true, 'None'],
    ['None + Pending Out+In', true, 'None + Pending Out'],
    ['To', false, '-'],
    ['To + Pending In', true, 'To'],
    ['From', true, 'None'],
    ['From + Pending Out', true, 'None + Pending Out'],
    ['Both', true, 'To'],
  ],
};

const A3: Record<SubscriptionType, Rows> = {
  subscribe: [
    ['None', true, 'None + Pending In'],
    ['None + Pending Out', true, 'None + Pending Out+In'],
    ['None + Pending In', false, '-'],
    ['None + Pending Out+In', false, '-'],
    ['To', true, 'To + Pending In'],
    ['To + Pending In', false, '-'],
    ['From', false, '-'],
    ['From + Pending Out', false, '-'],
    ['Both', false, '-'],
  ],
  unsubscribe: [
    ['None', false, '-'],
    ['None + Pending Out', false, '-'],
    ['None + Pending In', true, 'None'],
    ['None + Pending Out+In', true, 'None + Pending Out'],
    ['To', false, '-'],
    ['To + Pending In', true, 'To'],
    ['From', true, 'None'],
    ['From + Pending Out', true, 'None + Pending Out'],
    ['Both', true, 'To'],
  ],
  subscribed: [
    ['None', false, '-'],
    ['None + Pending Out', true, 'To'],
    ['None + Pending In', false, '-'],
    ['None + Pending Out+In', true, 'To + Pending In'],
    ['To', false, '-'],
    ['To + Pending In', false, '-'],
    ['From', false, '-'],
    ['From + Pending Out', true, 'Both'],
    ['Both', false, '-'],
  ],
  unsubscribed: [
    ['None', false, '-'],
    ['None + Pending Out', true, 'None'],
    ['None + Pending In', false, '-'],
    ['None + Pending Out+In', true, 'None + Pending In'],
    ['To', true, 'None'],
    ['To + Pending In', true, 'None + Pending In'],
    ['From', false, '-'],
    ['From + Pending Out', true, 'From'],
    ['Both', true, 'From'],
  ],
};

describe('subscription states (A.1)', () => {
  it('names and states round-trip for all nine states', () => {
    for (const n of STATE_NAMES) assert.equal(nameOf(stateOf(n)), n);
    assert.equal(STATE_NAMES.length, 9);
  });
  it('reads undefined combinations without the redundant pending flag', () => {
    assert.equal(nameOf({ subscription: 'both', pendingOut: true, pendingIn: true }), 'Both');
    assert.equal(nameOf({ subscription: 'to', pendingOut: true, pendingIn: false }), 'To');
    assert.equal(nameOf({ subscription: 'from', pendingOut: false, pendingIn: true }), 'From');
  });
});

for (const [table, rowsByType, fn] of [
  ['A.2 outbound', A2, (s: StateName, t: SubscriptionType) => {
    const r = outbound(stateOf(s), t);
    return { act: r.route, next: r.next, changed: r.changed };
  }],
  ['A.3 inbound', A3, (s: StateName, t: SubscriptionType) => {
    const r = inbound(stateOf(s), t);
    // An automatic 'subscribed' reply stands for the RFC's "no (deliver), but answer" rows.
    return { act: r.deliver, next: r.next, changed: r.changed };
  }],
] as const) {
  describe(`${table}`, () => {
    for (const [type, rows] of Object.entries(rowsByType) as [SubscriptionType, Rows][]) {
      it(`${type}: all nine rows`, () => {
        assert.equal(rows.length, 9);
        for (const [from, act, to] of rows) {
          const got = fn(from, type);
          const want = to === '-' ? from : to;
          assert.equal(nameOf(got.next), want, `${type} in "${from}": new state`);
          assert.equal(got.changed, to !== '-', `${type} in "${from}": changed`);
          assert.equal(got.act, act, `${type} in "${from}": ${table.startsWith('A.2') ? 'route' : 'deliver'}`);
        }
      });
    }
  });
}

describe('automatic replies and pre-approval (§3.1.3, §3.4)', () => {
  it('answers a subscribe when the contact is already subscribed', () => {
    for (const s of ['From', 'From + Pending Out', 'Both'] as const) {
      const r = inbound(stateOf(s), 'subscribe');
      assert.equal(r.autoReply, true, s);
      assert.equal(r.deliver, false, s);
    }
    assert.equal(inbound(stateOf('None'), 'subscribe').autoReply, false);
  });

  it("treats 'subscribed' without a pending request as a pre-approval, except when already 'from'", () => {
    const pre = STATE_NAMES.filter((s) => outbound(stateOf(s), 'subscribed').preApprove);
    assert.deepEqual(pre, ['None', 'None + Pending Out', 'To']);
  });

  it('approves a pre-approved request at once, without delivering it', () => {
    const cases: [StateName, StateName][] = [['None', 'From'], ['None + Pending Out', 'From + Pending Out'], ['To', 'Both']];
    for (const [from, to] of cases) {
      const r = inbound(stateOf(from), 'subscribe', true);
      assert.equal(nameOf(r.next), to);
      assert.deepEqual([r.deliver, r.autoReply, r.usedApproval, r.changed], [false, true, true, true]);
    }
  });

  it('ignores a pre-approval for stanzas other than subscribe', () => {
    const r = inbound(stateOf('None'), 'subscribed', true);
    assert.equal(r.usedApproval, false);
    assert.equal(r.changed, false);
  });
});
