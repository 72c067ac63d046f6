// XEP-0049 Private XML Storage end to end: a real server process and @xmpp/client over TLS.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../../../test/harness/server.ts';
import { xml } from '../../../test/harness/client.ts';

const NS = 'jabber:iq:private';
const query = (...children: ReturnType<typeof xml>[]) => xml('query', { xmlns: NS }, ...children);

function condition(e: unknown): string {
  return (e as { condition?: string }).condition ?? String(e);
}

describe('XEP-0049 Private XML Storage', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ modules: { disco: {}, private: { max_size: '2KiB' } } });
  });
  after(() => server.stop());

  it('stores and returns XML by namespace; other namespaces stay apart', async (t) => {
    const c = await server.connectClient(t, 'hamlet');
    await c.iqSet(query(xml('exodus', { xmlns: 'exodus:prefs' }, xml('defaultnick', {}, 'Hamlet & Co'))));
    await c.iqSet(query(xml('storage', { xmlns: 'storage:bookmarks' }, xml('conference', { jid: 'room@muc.localhost', autojoin: 'true' }))));

    const got = await c.iqGet(query(xml('exodus', { xmlns: 'exodus:prefs' })));
    assert.equal(got.children.length, 1);
    assert.equal(got.getChild('exodus', 'exodus:prefs')?.getChildText('defaultnick'), 'Hamlet & Co');
    const bm = await c.iqGet(query(xml('storage', { xmlns: 'storage:bookmarks' })));
    assert.equal(bm.getChild('storage', 'storage:bookmarks')?.getChild('conference')?.attrs['jid'], 'room@muc.localhost');

    // A second session of the same account sees it too.
    const again = await server.connectClient(t, 'hamlet');
    assert.equal((await again.iqGet(query(xml('exodus', { xmlns: 'exodus:prefs' })))).getChild('exodus')?.getChildText('defaultnick'), 'Hamlet & Co');
  });

  it('returns the empty element of the requested namespace when nothing is stored', async (t) => {
    const c = await server.connectClient(t, 'empty');
    const got = await c.iqGet(query(xml('prefs', { xmlns: 'urn:example:none' })));
    const child = got.getChild('prefs', 'urn:example:none');
    assert.ok(child);
    assert.equal(child.children.length, 0);
  });

  it('refuses the reserved namespaces and a child without namespace with not-acceptable', async (t) => {
    const c = await server.connectClient(t, 'reserved');
    for (const ns of ['jabber:client', 'jabber:server', 'jabber:iq:private']) {
      await assert.rejects(c.iqSet(query(xml('x', { xmlns: ns }))), (e) => condition(e) === 'not-acceptable', `set ${ns}`);
      await assert.rejects(c.iqGet(query(xml('x', { xmlns: ns }))), (e) => condition(e) === 'not-acceptable', `get ${ns}`);
    }
    // No xmlns: the child inherits jabber:iq:private from <query/>.
    await assert.rejects(c.iqSet(query(xml('x', {}))), (e) => condition(e) === 'not-acceptable');
    await assert.rejects(c.iqGet(query()), (e) => condition(e) === 'not-acceptable');
    await assert.rejects(c.iqSet(query()), (e) => condition(e) === 'not-acceptable');
  });

  it('refuses to read or write another account\'s data with forbidden', async (t) => {
    const c = await server.connectClient(t, 'macbeth');
    await server.adduser('duncan');
    await assert.rejects(c.iqSet(query(xml('exodus', { xmlns: 'exodus:prefs' })), 'duncan@localhost'), (e) => condition(e) === 'forbidden');
    await assert.rejects(c.iqGet(query(xml('exodus', { xmlns: 'exodus:prefs' })), 'duncan@localhost'), (e) => condition(e) === 'forbidden');
  });

  it('enforces max_size per account, counting what is replaced only once, while another user keeps working', async (t) => {
    const c = await server.connectClient(t, 'hoarder');
    const other = await server.connectClient(t, 'tidy');
    const blob = (n: number) => xml('data', { xmlns: 'urn:example:blob' }, 'x'.repeat(n));
    await c.iqSet(query(blob(1200)));
    // Replacing the same namespace with the same size stays under the limit.
    await c.iqSet(query(blob(1200)));
    // The refusal and another account's writes at the same time: the quota is per account.
    const [refused, accepted] = await Promise.allSettled([
      c.iqSet(query(xml('more', { xmlns: 'urn:example:more' }, 'y'.repeat(1200)))),
      other.iqSet(query(blob(1200))),
    ]);
    assert.equal(refused.status, 'rejected');
    assert.equal(condition(refused.status === 'rejected' ? refused.reason : undefined), 'not-acceptable');
    assert.equal(accepted.status, 'fulfilled');
    assert.equal((await c.iqGet(query(xml('more', { xmlns: 'urn:example:more' })))).getChild('more')?.children.length, 0);
    assert.equal((await other.iqGet(query(xml('data', { xmlns: 'urn:example:blob' })))).getChildText('data')?.length, 1200);
  });
});
