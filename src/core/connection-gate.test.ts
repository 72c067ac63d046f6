import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionGate, type GateTicket } from './connection-gate.ts';

const opts = { maxUnauthenticated: 100, maxUnauthenticatedPerAddress: 3, ratePerAddress: 2, burstPerAddress: 5 };

function ticket(v: ReturnType<ConnectionGate['admit']>): GateTicket {
  assert.ok('ticket' in v, JSON.stringify(v));
  return v.ticket;
}

describe('connection gate (issue 7)', () => {
  it('caps unauthenticated connections per address; authenticating or closing frees the slot', () => {
    const g = new ConnectionGate(opts);
    const now = 1000;
    const held = [ticket(g.admit('192.0.2.1', now)), ticket(g.admit('192.0.2.1', now)), ticket(g.admit('192.0.2.1', now))];
    const refused = g.admit('192.0.2.1', now);
    assert.ok('refusal' in refused && refused.refusal.condition === 'policy-violation');
    ticket(g.admit('192.0.2.2', now));
    held[0]?.authenticated();
    held[0]?.closed(); // released once only
    assert.equal(g.unauthenticated, 3);
    ticket(g.admit('192.0.2.1', now));
    g.stop();
  });

  it('counts IPv6 peers per /64', () => {
    const g = new ConnectionGate(opts);
    for (let i = 1; i <= 3; i++) ticket(g.admit(`2001:db8:1:2::${String(i)}`, 0));
    assert.ok('refusal' in g.admit('2001:db8:1:2:ffff::9', 0));
    ticket(g.admit('2001:db8:1:3::1', 0));
    g.stop();
  });

  it('limits the connection rate per address with a burst, refilled over time', () => {
    const g = new ConnectionGate({ ...opts, maxUnauthenticatedPerAddress: 1000 });
    for (let i = 0; i < 5; i++) ticket(g.admit('198.51.100.1', 0)).closed();
    assert.ok('refusal' in g.admit('198.51.100.1', 0), 'burst spent');
    ticket(g.admit('198.51.100.1', 500)).closed(); // one token back after half a second at 2/s
    assert.ok('refusal' in g.admit('198.51.100.1', 500));
    g.stop();
  });

  it('gives a login its token back: the rate limits connections that never authenticate', () => {
    const g = new ConnectionGate({ ...opts, maxUnauthenticatedPerAddress: 1000 });
    for (let i = 0; i < 50; i++) ticket(g.admit('198.51.100.2', 0)).authenticated();
    for (let i = 0; i < 5; i++) ticket(g.admit('198.51.100.2', 0)).closed();
    assert.ok('refusal' in g.admit('198.51.100.2', 0));
    g.stop();
  });

  it('caps unauthenticated connections server-wide with <resource-constraint/>', () => {
    const g = new ConnectionGate({ ...opts, maxUnauthenticated: 2 });
    ticket(g.admit('192.0.2.1', 0));
    ticket(g.admit('192.0.2.2', 0));
    const v = g.admit('192.0.2.3', 0);
    assert.ok('refusal' in v && v.refusal.condition === 'resource-constraint');
    g.stop();
  });
});
