// exportUser/importFile as a library, on a server without listeners (the CLI's stopped-server path;
// test/portable/ drives the CLI and real clients): the report, atomic users, host mapping, and
// export -> import -> export giving the same document.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../core/config.ts';
import { builtinModuleNames, defaultModuleNames } from '../modules/registry.ts';
import { Server } from '../server.ts';
import { exportUser, importFile } from './portable.ts';
import { PieFormatError } from './pie-reader.ts';

const DOC = `<?xml version='1.0' encoding='UTF-8'?>
<server-data xmlns='urn:xmpp:pie:0'>
  <host jid='old.example'>
    <user name='Alice' password='alice-pw'>
      <query xmlns='jabber:iq:roster'>
        <item jid='zed@old.example' subscription='from'/>
        <item jid='bob@old.example' name='Bob' subscription='to' ask='subscribe' approved='true'><group>B</group><group>A</group></item>
      </query>
      <vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>
      <offline-messages>
        <message xmlns='jabber:client' from='bob@old.example/x' to='alice@old.example' type='chat'><body>hi</body><delay xmlns='urn:xmpp:delay' from='old.example' stamp='${new Date(Date.now() - 3_600_000).toISOString()}'/></message>
        <message xmlns='jabber:client' from='bob@old.example/x' to='alice@old.example' type='chat'><body>too old</body><delay xmlns='urn:xmpp:delay' stamp='2001-01-01T00:00:00Z'/></message>
      </offline-messages>
      <blocklist xmlns='urn:xmpp:blocking'><item jid='spam@example.net'/></blocklist>
    </user>
    <user name='broken' password='pw'><blocklist xmlns='urn:xmpp:blocking'><item/></blocklist></user>
  </host>
</server-data>
`;

describe('XEP-0227 operations', () => {
  let dir: string;
  const server = (name: string) =>
    new Server(parseConfigText(['data_dir: data', 'log: { level: silent }', 'auth: { scram_iterations: 4096 }'].join('\n'), join(dir, name), {
      knownModules: builtinModuleNames,
      defaultModules: defaultModuleNames,
    }));

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jabberx-portable-ops-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('imports with a host mapping, reports each user, and exports canonically; a round trip is stable', async () => {
    const a = server('a');
    await a.start({ listen: false });
    let first: string;
    try {
      const report = await importFile(a.operations, DOC, { mapHost: () => 'localhost' });
      assert.deepEqual(report.imported, ['alice@localhost']);
      assert.equal(report.failed.length, 1);
      assert.match(report.failed[0]?.reason ?? '', /line 16: broken@localhost: blocklist: An <item\/> needs a jid attribute/);
      assert.deepEqual(await a.operations.accounts.list('localhost'), ['alice']);
      first = await exportUser(a.operations, 'localhost', 'alice');
      // Items by JID, groups sorted, the expired message dropped, the stamp kept.
      assert.match(first, /<item jid="bob@old.example" name="Bob" subscription="to" ask="subscribe" approved="true">\s*<group>A<\/group>\s*<group>B<\/group>\s*<\/item>\s*<item jid="zed@old.example" subscription="from"\/>/);
      assert.match(first, /<body>hi<\/body>/);
      assert.doesNotMatch(first, /too old|alice-pw|password/);
      const unknown = await importFile(a.operations, DOC);
      assert.deepEqual(unknown.imported, []);
      assert.match(unknown.skipped[0]?.reason ?? '', /old\.example is not a host of this server/);
    } finally {
      await a.stop();
    }
    const b = server('b');
    await b.start({ listen: false });
    try {
      assert.deepEqual((await importFile(b.operations, first)).imported, ['alice@localhost']);
      assert.equal(await exportUser(b.operations, 'localhost', 'alice'), first);
      await assert.rejects(importFile(b.operations, '<server-data xmlns="urn:xmpp:pie:0"><host jid="localhost">'), PieFormatError);
      // Two accounts in each other's rosters, imported again over themselves: both rosters stay whole.
      const pair = `<server-data xmlns='urn:xmpp:pie:0'><host jid='localhost'>
        <user name='p1' password='pw'><query xmlns='jabber:iq:roster'><item jid='p2@localhost' subscription='both'/></query></user>
        <user name='p2' password='pw'><query xmlns='jabber:iq:roster'><item jid='p1@localhost' subscription='both'/></query></user>
      </host></server-data>`;
      assert.equal((await importFile(b.operations, pair)).imported.length, 2);
      assert.equal((await importFile(b.operations, pair, { existing: 'overwrite' })).imported.length, 2);
      assert.match(await exportUser(b.operations, 'localhost', 'p1'), /<item jid="p2@localhost" subscription="both"\/>/);
      assert.match(await exportUser(b.operations, 'localhost', 'p2'), /<item jid="p1@localhost" subscription="both"\/>/);
    } finally {
      await b.stop();
    }
  });
});
