// Virtual hosts: one process serves several domains, and nothing leaks between them
// (accounts, passwords, messages, rosters, vCards).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './harness/server.ts';
import { match, xml } from './harness/client.ts';

describe('virtual hosts', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      hosts: ['one.test', 'two.test'],
      users: [
        ['alice@one.test', 'alice-one-pw'],
        ['alice@two.test', 'alice-two-pw'],
        ['bob@one.test', 'bob-one-pw'],
      ],
    });
  });
  after(() => server.remove());

  it('keeps same-named accounts apart: each password works only on its own host', async (t) => {
    const a1 = await server.connectClient(t, 'alice@one.test');
    assert.equal(a1.jid.domain, 'one.test');
    await assert.rejects(server.connectClient(t, 'alice@two.test', { password: 'alice-one-pw' }));
    const a2 = await server.connectClient(t, 'alice@two.test');
    assert.equal(a2.jid.domain, 'two.test');
  });

  it('lists users per host', async () => {
    const one = await server.cli(['list-users', 'one.test']);
    const two = await server.cli(['list-users', 'two.test']);
    assert.equal(one.code, 0);
    assert.deepEqual(one.stdout.trim().split('\n').sort(), ['alice@one.test', 'bob@one.test']);
    assert.deepEqual(two.stdout.trim().split('\n'), ['alice@two.test']);
  });

  it('delivers a message to the addressed host only', async (t) => {
    const bob = await server.connectClient(t, 'bob@one.test');
    const a1 = await server.connectClient(t, 'alice@one.test');
    const a2 = await server.connectClient(t, 'alice@two.test');
    await a1.send(xml('presence'));
    await a2.send(xml('presence'));
    await bob.send(xml('message', { to: 'alice@one.test', type: 'chat' }, xml('body', {}, 'for one only')));
    await a1.waitFor(match.message('bob@one.test', 'for one only'));
    await a2.expectNone(match.message(undefined, 'for one only'), 500);
  });

  it('keeps rosters and vCards per host', async (t) => {
    const a1 = await server.connectClient(t, 'alice@one.test');
    const a2 = await server.connectClient(t, 'alice@two.test');
    await a1.iqSet(xml('query', 'jabber:iq:roster', xml('item', { jid: 'carol@elsewhere.test', name: 'Carol' })));
    await a1.iqSet(xml('vCard', 'vcard-temp', xml('FN', {}, 'Alice of One')));
    const roster2 = await a2.iqGet(xml('query', 'jabber:iq:roster'));
    assert.equal(roster2.getChildren('item').length, 0);
    const vcard2 = await a2.iqGet(xml('vCard', 'vcard-temp'));
    assert.equal(vcard2.getChildText('FN'), null);
    const roster1 = await a1.iqGet(xml('query', 'jabber:iq:roster'));
    assert.equal(roster1.getChildren('item').length, 1);
  });

  it('answers each domain with its own certificate (SNI) and refuses unknown domains', async (t) => {
    const a2 = await server.connectClient(t, 'alice@two.test');
    const cert = a2.tlsSocket()?.getPeerCertificate();
    assert.match(String(cert?.subjectaltname), /two\.test/);
    await assert.rejects(server.connectClient(t, 'alice@three.test', { password: 'x' }));
  });
});
