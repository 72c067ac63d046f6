// Dead connections are found (issue: "Server-initiated <r/> and XEP-0199 pings detect dead
// connections"): a bound client silent for limits.idle_timeout is probed; silent for
// limits.ping_timeout more, its connection is dropped, and with XEP-0198 its session can still be
// resumed. TCP keepalive is on as well (src/transports/tcp.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type TestServer } from './harness/server.ts';
import { rawLogin } from './harness/raw.ts';

const NS_SM = 'urn:xmpp:sm:3';

describe('limits.idle_timeout and limits.ping_timeout: probing silent clients', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ config: { limits: { idle_timeout: '1s', ping_timeout: '1s' } } });
  });
  after(() => server.stop({ remove: true }));

  const login = async (user: string) => {
    const password = await server.adduser(user);
    return { ...(await rawLogin({ port: server.ports.c2s_starttls, username: user, password, resource: 'r' })), password };
  };

  it('a silent client without stream management gets a XEP-0199 ping; no answer drops it', async () => {
    const { conn } = await login('quiet');
    const ping = await conn.readUntil(/<iq[^>]*type=['"]get['"][\s\S]*?<\/iq>/, 5000);
    assert.match(ping, /urn:xmpp:ping/);
    await conn.closed;
  });

  it('a client that answers stays connected', async () => {
    const { conn } = await login('chatty');
    for (let i = 0; i < 3; i++) {
      const from = conn.text.length;
      await conn.readUntil(/<iq[^>]*type=['"]get['"][\s\S]*?<\/iq>/, 5000);
      const ping = conn.text.slice(from);
      const id = /id=['"]([^'"]+)['"]/.exec(ping.slice(ping.lastIndexOf('<iq')))?.[1] ?? '';
      await conn.send(`<iq type='result' id='${id}' to='localhost'/>`);
    }
    assert.equal(conn.isClosed, false);
    conn.destroy();
  });

  it('with stream management: an <r/>; no answer drops the connection, and the session can be resumed', async () => {
    const { conn, password } = await login('roamer');
    await conn.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
    const previd = /id=['"]([^'"]+)['"]/.exec(await conn.readUntil(/<enabled[^>]*\/>/))?.[1] ?? '';
    await conn.readUntil(/<r xmlns=['"]urn:xmpp:sm:3['"]\/>/, 5000);
    await conn.closed;
    assert.doesNotMatch(conn.text, /<stream:error>/, 'dropped, not closed with a stream error');
    await sleep(100);
    const back = await rawLogin({ port: server.ports.c2s_starttls, username: 'roamer', password, skipBind: true });
    await back.conn.send(`<resume xmlns='${NS_SM}' previd='${previd}' h='0'/>`);
    await back.conn.readUntil(/<resumed[^>]*\/>/);
    back.conn.destroy();
  });
});
