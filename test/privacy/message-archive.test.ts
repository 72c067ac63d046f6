// "No archive" is the default and the privacy policy says so: on a default install, messages with
// marker strings are delivered between real clients and the markers are nowhere in the data
// directory's bytes afterwards (nor in any store, nor in the debug log), and archive queries are
// refused. With the mam module on, the marker is archived but only sealed, and /privacy switches
// from "no chat history" to the configured retention.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { listFiles, startServer, type TestServer } from '../harness/server.ts';
import { xml, type Element } from '../harness/client.ts';
import { withStorage } from '../harness/store.ts';
import { addContact, chat, createAccounts, errorOf, NS_MAM, NS_SID, query } from '../mam/mam-client.ts';

const HTTP = { type: 'http', port: 0, address: '127.0.0.1' };
const LISTENERS = [{ type: 'c2s_starttls', port: 0, address: '127.0.0.1' }, { type: 'c2s_direct_tls', port: 0, address: '127.0.0.1' }, HTTP];

async function privacyText(server: TestServer): Promise<string> {
  const port = (server.ports as unknown as Record<string, number>)['http'];
  const res = await fetch(`http://127.0.0.1:${String(port)}/privacy.txt`);
  assert.equal(res.status, 200);
  return (await res.text()).replace(/\n(?: {2})?(?=\S)/g, ' ');
}

/** Fails when any file under the data directory holds the marker in clear (UTF-8 bytes). */
function assertNowhere(server: TestServer, marker: string): void {
  const files = listFiles(server.dataDir);
  assert.ok(files.some((f) => f.endsWith('.sqlite')));
  for (const f of files) assert.ok(!readFileSync(f).includes(Buffer.from(marker, 'utf8')), `${marker} readable in ${f}`);
}

/** Two online accounts in each other's roster; the first sends the second `body`, which is delivered. */
async function converse(server: TestServer, t: Parameters<TestServer['connectClient']>[0], body: string): Promise<Element> {
  const sender = await server.connectClient(t, 'sender');
  const recipient = await server.connectClient(t, 'recipient');
  await addContact(sender, 'recipient@localhost');
  await addContact(recipient, 'sender@localhost');
  await recipient.send(xml('presence'));
  await sender.send(chat('recipient@localhost', body));
  await sender.send(xml('message', { to: 'recipient@localhost' }, xml('body', {}, `${body} (normal)`)));
  await recipient.waitFor((e) => e.is('message') && e.getChildText('body') === `${body} (normal)`);
  return recipient.waitFor((e) => e.is('message') && e.getChildText('body') === body);
}

describe('default install: no message archive', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ config: { listeners: LISTENERS } });
    await createAccounts(server, ['sender', 'recipient']);
  });
  after(() => server.remove());

  it('delivers messages and keeps nothing of them; archive queries are refused; /privacy says so', async (t) => {
    const marker = 'NoArchiveMarker-7f3e91';
    const got = await converse(server, t, marker);
    assert.equal(got.getChildren('stanza-id', NS_SID).length, 0, 'nothing archived, so no archive id');
    const recipient = await server.connectClient(t, 'recipient', { resource: 'second' });
    const info = await recipient.iqGet(xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }), 'recipient@localhost');
    assert.ok(!info.getChildren('feature').some((f: Element) => String(f.attrs['var']).startsWith(NS_MAM)));
    assert.equal(await errorOf(query(recipient)), 'service-unavailable');
    assert.equal(await errorOf(recipient.iqGet(xml('prefs', { xmlns: NS_MAM }))), 'service-unavailable');
    const text = await privacyText(server);
    assert.match(text, /No chat history is kept: the server passes messages on to the recipient and does not keep an archive of them\./);
    assert.doesNotMatch(text, /archive is kept|Archived messages/);

    await server.stop();
    assertNowhere(server, marker);
    // Nor sealed: nothing of either account is stored in any archive-kind store.
    for (const user of ['sender', 'recipient']) {
      const data = await withStorage(server, (s) => s.exportUser('localhost', user));
      assert.deepEqual(Object.values(data.archive).flat(), [], `${user}: no stored messages`);
    }
    assert.ok(!server.logs().includes(marker), 'not in the (debug-level) log either');
  });
});

describe('mam enabled: the archive is sealed and the policy states its retention', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ config: { listeners: LISTENERS, modules: { mam: { max_age: '30d' } } } });
    await createAccounts(server, ['sender', 'recipient']);
  });
  after(() => server.remove());

  it('archives the marker only sealed, and /privacy says how long it is kept', async (t) => {
    const marker = 'SealedArchiveMarker-c41b07';
    const got = await converse(server, t, marker);
    const id = (got.getChildren('stanza-id', NS_SID) as Element[]).find((s) => s.attrs['by'] === 'recipient@localhost')?.attrs['id'];
    assert.ok(id);
    const recipient = await server.connectClient(t, 'recipient', { resource: 'second' });
    const found = await query(recipient, { fields: { ids: id } });
    assert.equal(found.results[0]?.body, marker, 'the archive holds it');
    const text = await privacyText(server);
    assert.match(text, /A message archive is kept: the one-to-one messages you send and receive are stored on the server, encrypted/);
    assert.match(text, /Archived messages are kept for 30 days, then deleted\./);
    assert.match(text, /Archived messages: deleted once older than 30 days\./);
    assert.doesNotMatch(text, /No chat history is kept/);

    await server.stop();
    assertNowhere(server, marker);
    assert.ok(!server.logs().includes(marker), 'not in the (debug-level) log');
    assert.equal(await withStorage(server, (s) => s.archive('localhost', 'mam').count('recipient')), 2, 'both messages archived, sealed');
  });
});
