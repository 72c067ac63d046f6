// Issue 10: "a copy of all personal data on request", from the chat client: stock slixmpp runs
// the 'Export my data' ad-hoc command (XEP-0050) and gets its account's XEP-0227 document, and
// only its own.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './harness/server.ts';
import { connectSlix, slixmppUnavailable } from './harness/slixmpp.ts';
import { xml } from './harness/client.ts';

const NODE = 'urn:jabberx:command:export-data';

describe('export my data as an ad-hoc command (slixmpp)', { skip: slixmppUnavailable() }, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ users: [['erin@localhost', 'erin-pw-1'], ['frank@localhost', 'frank-pw-1']] });
  });
  after(() => server.remove());

  it('lists the command to local users and returns their XEP-0227 document', async (t) => {
    const x = await server.connectClient(t, 'erin@localhost');
    await x.iqSet(xml('vCard', 'vcard-temp', xml('FN', {}, 'Erin Exported')));
    await x.iqSet(xml('query', 'jabber:iq:roster', xml('item', { jid: 'frank@localhost', name: 'Frankie' })));
    await x.close();

    const erin = await connectSlix(t, { jid: 'erin@localhost', password: 'erin-pw-1', port: server.ports.c2s_starttls });
    const { commands } = await erin.adhocList();
    assert.ok(commands.some((c) => c.node === NODE && c.name === 'Export my data'), JSON.stringify(commands));
    const responses = await erin.adhocRun({ node: NODE });
    const done = responses.at(-1);
    assert.equal(done?.status, 'completed', JSON.stringify(responses));
    const value = done?.form?.fields['data']?.value;
    const doc = Array.isArray(value) ? value.join('\n') : String(value);
    assert.match(doc, /<server-data xmlns=["']urn:xmpp:pie:0["']/);
    assert.match(doc, /<user name=["']erin["']/);
    assert.match(doc, /Erin Exported/);
    assert.match(doc, /Frankie/);
    assert.doesNotMatch(doc, /frank-pw-1|erin-pw-1/);
    assert.doesNotMatch(doc, /<user name=["']frank["']/, 'another account is not in it');
  });
});
