// The streaming XEP-0227 reader: namespaces as Prosody and ejabberd write them, and its bounds (an
// oversized <user/> is dropped while the rest of the file is read; a file past the limit stops).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PieFormatError, readPie, type PieItem } from './pie-reader.ts';

async function items(chunks: Iterable<string | Buffer>, limits?: { maxFileBytes?: number; maxUserBytes?: number }): Promise<PieItem[]> {
  const out: PieItem[] = [];
  for await (const item of readPie(chunks, limits)) out.push(item);
  return out;
}

describe('XEP-0227 reader', () => {
  it('resolves prefixes into literal xmlns attributes and drops layout whitespace', async () => {
    const doc = `<?xml version='1.0'?>\n<p:server-data xmlns:p='urn:xmpp:pie:0'>\n <p:host jid='example.org'>\n  <p:user name='alice'>\n   <r:query xmlns:r='jabber:iq:roster'>\n    <r:item jid='bob@example.org'><r:group> Friends </r:group></r:item>\n   </r:query>\n  </p:user>\n </p:host>\n</p:server-data>\n`;
    const [item] = await items([doc]);
    assert.equal(item?.kind, 'user');
    if (item?.kind !== 'user') return;
    assert.equal(item.host, 'example.org');
    assert.equal(item.line, 4);
    assert.equal(item.user.toString(), '<user xmlns="urn:xmpp:pie:0" name="alice"><query xmlns="jabber:iq:roster"><item jid="bob@example.org"><group> Friends </group></item></query></user>');
  });

  it('reads ejabberd\'s per-host file (root <host/>) and reports its main file\'s includes', async () => {
    const main = `<server-data xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude'><xi:include href='x_localhost.xml'/></server-data>`;
    assert.deepEqual(await items([main]), [{ kind: 'include', href: 'x_localhost.xml', line: 1 }]);
    const host = `<host xmlns='urn:xmpp:pie:0' jid='localhost'><user name='a'/><user name='b'/></host>`;
    assert.deepEqual((await items([host])).map((i) => i.kind === 'user' && i.user.attrs['name']), ['a', 'b']);
  });

  it('drops a <user/> element larger than the limit without holding it, and reads on', async () => {
    const big = 'x'.repeat(64 * 1024);
    const chunks = function* () {
      yield `<server-data xmlns='urn:xmpp:pie:0'><host jid='h'><user name='big'><vCard xmlns='vcard-temp'><NOTE>`;
      for (let i = 0; i < 64; i++) yield big; // 4 MiB of text
      yield `</NOTE></vCard></user><user name='small'/></host></server-data>`;
    };
    const got = await items(chunks(), { maxUserBytes: 1024 * 1024 });
    assert.equal(got.length, 2);
    assert.equal(got[0]?.kind, 'skipped');
    if (got[0]?.kind === 'skipped') {
      assert.equal(got[0].name, 'big');
      assert.match(got[0].reason, /larger than 1048576 bytes/);
    }
    assert.equal(got[1]?.kind === 'user' && got[1].user.attrs['name'], 'small');
  });

  it('stops at the file limit, at malformed XML and at a foreign root, with the line', async () => {
    await assert.rejects(items(['<server-data xmlns="urn:xmpp:pie:0">', 'x'.repeat(2000)], { maxFileBytes: 1000 }), /larger than 1000 bytes/);
    await assert.rejects(items(['<server-data xmlns="urn:xmpp:pie:0">\n<host jid="h">\n<user name="a">\n</host>']), (e: Error) => e instanceof PieFormatError && /^line 4, column \d+: malformed XML/.test(e.message));
    await assert.rejects(items(['<server-data xmlns="urn:xmpp:pie:1"/>']), /line 1: not a XEP-0227 document/);
    await assert.rejects(items(['<server-data xmlns="urn:xmpp:pie:0"><host><user name="a"/></host></server-data>']), /<host\/> without a jid attribute/);
    // DTD entities are not expanded (no entity expansion attacks).
    await assert.rejects(items(['<!DOCTYPE x [<!ENTITY a "aaaa">]><server-data xmlns="urn:xmpp:pie:0"><host jid="h"><user name="&a;"/></host></server-data>']), PieFormatError);
  });
});
