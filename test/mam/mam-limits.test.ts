// The archive's two limits, each on its own server with only that limit changed: max_age (the
// retention engine deletes what is older) and max_messages (the oldest go first, even while
// several contacts keep writing).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../harness/server.ts';
import { xml, type Element } from '../harness/client.ts';
import { withStorage } from '../harness/store.ts';
import { until } from '../harness/eventually.ts';
import { addContact, chat, createAccounts, NS_MAM, NS_SID, query } from './mam-client.ts';

describe('mam max_age: the retention engine purges the archive', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: { mam: { max_age: '2s' } } });
    await createAccounts(server, ['ann', 'bea']);
  });
  after(() => server.remove());

  it('deletes archived messages once older than max_age, not before', async (t) => {
    const ann = await server.connectClient(t, 'ann');
    const bea = await server.connectClient(t, 'bea');
    await addContact(ann, 'bea@localhost');
    await addContact(bea, 'ann@localhost');
    await bea.send(xml('presence'));
    const sentAt = Date.now();
    await ann.send(chat('bea@localhost', 'short-lived'));
    const got = await bea.waitFor((e) => e.is('message') && e.getChildText('body') === 'short-lived');
    assert.ok((got.getChildren('stanza-id', NS_SID) as Element[]).some((s) => s.attrs['by'] === 'bea@localhost'), 'archived on delivery');
    await until('the archive purged', async () => (await withStorage(server, (s) => s.archive('localhost', 'mam').count('bea'))) === 0, 20_000);
    assert.ok(Date.now() - sentAt >= 2000, 'not before max_age');
    assert.equal(await withStorage(server, (s) => s.archive('localhost', 'mam').count('ann')), 0);
    assert.equal((await query(bea)).results.length, 0);
    assert.equal((await bea.iqGet(xml('metadata', { xmlns: NS_MAM }))).children.length, 0);
  });
});

describe('mam max_messages: the oldest go first while contacts keep chatting', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: { mam: { max_messages: 5 } } });
    await createAccounts(server, ['amy', 'ben', 'cal']);
  });
  after(() => server.remove());

  it('keeps exactly the newest max_messages of each account, with no gap', async (t) => {
    const amy = await server.connectClient(t, 'amy');
    const ben = await server.connectClient(t, 'ben');
    const cal = await server.connectClient(t, 'cal');
    for (const c of [ben, cal]) {
      await addContact(amy, `${c.jid.local}@localhost`);
      await addContact(c, 'amy@localhost');
    }
    await amy.send(xml('presence'));
    // Two contacts writing at once, 8 messages each.
    await Promise.all([ben, cal].map(async (c) => {
      for (let i = 1; i <= 8; i++) await c.send(chat('amy@localhost', `${c.jid.local} ${i}`));
    }));
    const received: string[] = [];
    while (received.length < 16) {
      const m = await amy.waitFor((e) => e.is('message') && e.getChild('body') !== undefined);
      received.push(m.getChildText('body') as string);
    }
    const kept = await query(amy);
    assert.equal(kept.count, 5);
    assert.deepEqual(kept.results.map((r) => r.body), received.slice(-5), 'the newest five, in the order amy got them');
    assert.equal(await withStorage(server, (s) => s.archive('localhost', 'mam').count('amy')), 5);
    // Each sender's own archive is capped the same way: their last five.
    assert.deepEqual((await query(ben)).results.map((r) => r.body), ['ben 4', 'ben 5', 'ben 6', 'ben 7', 'ben 8']);
    const meta = await amy.iqGet(xml('metadata', { xmlns: NS_MAM }));
    assert.equal(meta.getChild('start')?.attrs['id'], kept.results[0]?.id);
  });
});
