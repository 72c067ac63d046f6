// XEP-0363 HTTP File Upload end to end: stock slixmpp (xep_0363) and go-sendxmpp upload, fetch
// downloads; slots tied to size and type, one PUT each, bounded; ranges, CORS, safe headers; the
// files sealed at rest (no marker, name or link in data_dir or logs), kept across a restart and
// deleted with their account.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listFiles, type TestServer } from '../harness/server.ts';
import { match, xml } from '../harness/client.ts';
import { connectSlix, slixmppUnavailable } from '../harness/slixmpp.ts';
import { goSendxmppUnavailable, uploadFile } from '../harness/go-sendxmpp.ts';
import { NS_UPLOAD, SERVICE, putBytes, requestSlot, slotError, startUploadServer } from './helpers.ts';

const MARKER = 'UploadMarker-7f3e9a51c2';
const FILENAME = 'holiday-notes-4b1d.txt';

function filesDir(server: TestServer): string {
  return join(server.dataDir, 'files', 'localhost', 'upload');
}

describe('HTTP File Upload (XEP-0363)', () => {
  let server: TestServer;
  let base: string;
  let httpsPort: number;
  const scratch = mkdtempSync(join(tmpdir(), 'upload-test-'));
  /** Every link handed out, for the raw-byte scan. */
  const links: string[] = [];
  let slixUrl: string | undefined;

  before(async () => {
    ({ server, base, httpsPort } = await startUploadServer({
      hosts: ['localhost', 'other.localhost'],
      users: [['alice@localhost', 'pw-alice'], ['bob@localhost', 'pw-bob'], ['carol@localhost', 'pw-carol'], ['dave@localhost', 'pw-dave'], ['erin@other.localhost', 'pw-erin']],
    }));
  });
  after(async () => {
    await server?.remove();
  });

  it('is a disco item of the host, with identity store/file, the feature and max-file-size (XEP-0128)', async (t) => {
    const alice = await server.connectClient(t, 'alice');
    const items = await alice.iqGet(xml('query', 'http://jabber.org/protocol/disco#items'), 'localhost');
    assert.ok(items.getChildren('item').some((i) => i.attrs['jid'] === SERVICE));
    const info = await alice.iqGet(xml('query', 'http://jabber.org/protocol/disco#info'), SERVICE);
    assert.ok(info.getChildren('identity').some((i) => i.attrs['category'] === 'store' && i.attrs['type'] === 'file'));
    assert.ok(info.getChildren('feature').some((f) => f.attrs['var'] === NS_UPLOAD));
    const form = info.getChild('x', 'jabber:x:data');
    const fields = new Map(form?.getChildren('field').map((f) => [f.attrs['var'], f.getChildText('value')]));
    assert.equal(fields.get('FORM_TYPE'), NS_UPLOAD);
    assert.equal(fields.get('max-file-size'), String(50 * 1024 * 1024));
  });

  it('stock slixmpp uploads a file; fetch downloads it with safe headers, ranges and CORS', { skip: slixmppUnavailable() }, async (t) => {
    const content = Buffer.from(`${MARKER}\n`.repeat(5000)); // ~110 KB: two chunks at rest
    const path = join(scratch, FILENAME);
    writeFileSync(path, content);
    const slix = await connectSlix(t, { jid: 'alice@localhost', password: 'pw-alice', port: server.ports.c2s_starttls });
    const r = await slix.uploadFile(path);
    assert.equal(r.error, undefined, `upload failed: ${r.error} ${r.condition} ${r.detail}`);
    assert.ok(r.url);
    slixUrl = r.url;
    links.push(r.url);
    const url = new URL(r.url);
    assert.equal(url.origin, base);
    const token = url.pathname.split('/')[2] ?? '';
    assert.match(token, /^[A-Za-z0-9_-]{43,}$/, 'at least 256 bits in the link');
    assert.equal(url.pathname.split('/')[3], FILENAME);

    const res = await fetch(r.url);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(content));
    assert.equal(res.headers.get('content-type'), 'text/plain');
    assert.equal(res.headers.get('content-disposition'), `inline; filename="${FILENAME}"; filename*=UTF-8''${FILENAME}`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-security-policy') ?? '', /^default-src 'none';.*\bsandbox\b/);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.ok(res.headers.get('cache-control'));
    assert.equal(res.headers.get('content-length'), String(content.length));

    const head = await fetch(r.url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(content.length));

    // RFC 9110 §14: one range across the chunk border, a suffix, an open end, unsatisfiable, several.
    const part = await fetch(r.url, { headers: { Range: 'bytes=65530-65545' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 65530-65545/${content.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(content.subarray(65530, 65546)));
    const suffix = await fetch(r.url, { headers: { Range: 'bytes=-10' } });
    assert.equal(suffix.status, 206);
    assert.ok(Buffer.from(await suffix.arrayBuffer()).equals(content.subarray(content.length - 10)));
    const open = await fetch(r.url, { headers: { Range: `bytes=${content.length - 3}-` } });
    assert.equal(open.status, 206);
    assert.ok(Buffer.from(await open.arrayBuffer()).equals(content.subarray(content.length - 3)));
    const beyond = await fetch(r.url, { headers: { Range: `bytes=${content.length}-` } });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers.get('content-range'), `bytes */${content.length}`);
    await beyond.arrayBuffer();
    const etag = res.headers.get('etag') ?? '';
    assert.match(etag, /^"[0-9a-z]+-[0-9a-z]+"$/);
    const cached = await fetch(r.url, { headers: { 'If-None-Match': etag } });
    assert.equal(cached.status, 304);
    const stale = await fetch(r.url, { headers: { Range: 'bytes=0-1', 'If-Range': '"another"' } });
    assert.equal(stale.status, 200, 'a range of another version gets the whole file');
    await stale.arrayBuffer();
    const current = await fetch(r.url, { headers: { Range: 'bytes=0-1', 'If-Range': etag } });
    assert.equal(current.status, 206);
    await current.arrayBuffer();
    const several = await fetch(r.url, { headers: { Range: 'bytes=0-1,5-6' } });
    assert.equal(several.status, 200);
    assert.equal((await several.arrayBuffer()).byteLength, content.length);

    // The name in the link is for people; the token alone finds the file, a wrong token nothing.
    const wrong = await fetch(`${base}/upload/${randomBytes(32).toString('base64url')}/${FILENAME}`);
    assert.equal(wrong.status, 404);
    await wrong.arrayBuffer();
  });

  it('the privacy policy states the expiry, the quota and that links are public', async () => {
    const res = await fetch(`${base}/privacy.txt`);
    const text = (await res.text()).replace(/\s+/g, ' ');
    assert.match(text, /Uploads: deleted once older than 14 days/);
    assert.match(text, /Files you upload: each file you share/);
    assert.match(text, /can be downloaded by anyone who holds their link/);
    assert.match(text, /Each account may keep up to 500 MiB of files, at most 50 MiB each/);
  });

  it('streams a larger file in and out intact, ranges deep inside it too', async (t) => {
    const alice = await server.connectClient(t, 'alice');
    const data = randomBytes(5 * 1024 * 1024 + 123);
    const slot = await requestSlot(alice, 'big.bin', data.length, 'application/octet-stream');
    links.push(slot.get);
    assert.equal((await putBytes(slot.put, data, 'application/octet-stream')).status, 201);
    const res = await fetch(slot.get);
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="big.bin"; filename*=UTF-8''big.bin`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(data));
    const start = 3 * 65536 - 7;
    const part = await fetch(slot.get, { headers: { Range: `bytes=${start}-${start + 200_000}` } });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(data.subarray(start, start + 200_001)));
  });

  it('answers the CORS preflight of a web client PUT', async () => {
    const res = await fetch(`${base}/upload/${randomBytes(32).toString('base64url')}/x.png`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://web.example', 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'content-type' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /PUT/);
    assert.match(res.headers.get('access-control-allow-headers') ?? '', /Content-Type/i);
  });

  it('holds a PUT to its slot: size and type as requested, one PUT only', async (t) => {
    const bob = await server.connectClient(t, 'bob');
    const body = Buffer.from('<html><script>alert(1)</script></html>');
    const slot = await requestSlot(bob, 'page "one".html', body.length, 'text/html');
    links.push(slot.get);
    assert.equal(slot.put, slot.get);
    assert.match(slot.put, /\/page%20%22one%22\.html$/, 'the name percent-encoded');

    const short = await putBytes(slot.put, body.subarray(1), 'text/html');
    assert.equal(short.status, 400);
    const long = await putBytes(slot.put, Buffer.concat([body, Buffer.from('x')]), 'text/html');
    assert.equal(long.status, 413);
    const type = await putBytes(slot.put, body, 'image/png');
    assert.equal(type.status, 415);
    const ok = await putBytes(slot.put, body, 'text/html');
    assert.equal(ok.status, 201);
    const again = await putBytes(slot.put, body, 'text/html');
    assert.equal(again.status, 409);

    const res = await fetch(slot.get);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(body));
    // Not a safe type inline: a download, sandboxed anyway.
    assert.equal(res.headers.get('content-type'), 'text/html');
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="page _one_.html"; filename*=UTF-8''page%20%22one%22.html`);

    // The owner's copy of their data lists the file with its link.
    const exported = await server.cli(['export', 'bob@localhost']);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /<uploads xmlns=["']urn:jabberx:upload:0["']>/);
    assert.ok(exported.stdout.includes(slot.get.replace(/&/g, '&amp;')), 'the link in the export');

    // Path separators never reach the name.
    const sep = await requestSlot(bob, '../../etc/passwd', 1, 'text/plain');
    assert.match(sep.put, /\/passwd$/);
  });

  it('refuses bad requests per XEP-0363 §5: too large (with the limit), bad size, no name', async (t) => {
    const carol = await server.connectClient(t, 'carol');
    const big = await slotError(carol, { filename: 'big.bin', size: String(60 * 1024 * 1024) });
    assert.equal(big.attrs['type'], 'modify');
    assert.ok(big.getChild('not-acceptable', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
    assert.equal(big.getChild('file-too-large', NS_UPLOAD)?.getChildText('max-file-size'), String(50 * 1024 * 1024));
    for (const attrs of [{ filename: 'a.txt' } as Record<string, string>, { filename: 'a.txt', size: '-1' }, { filename: 'a.txt', size: 'ten' }, { size: '10' }, { filename: '/', size: '10' }]) {
      const err = await slotError(carol, attrs);
      assert.ok(err.getChild('bad-request', 'urn:ietf:params:xml:ns:xmpp-stanzas'), JSON.stringify(attrs));
    }
  });

  it('gives slots to accounts of its own host only', async (t) => {
    const erin = await server.connectClient(t, 'erin@other.localhost');
    const err = await slotError(erin, { filename: 'a.txt', size: '1' });
    assert.ok(err.getChild('not-allowed', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
  });

  it('bounds the pending slots of one account while others keep uploading', async (t) => {
    const dave = await server.connectClient(t, 'dave');
    for (let i = 0; i < 10; i++) await requestSlot(dave, `f${i}.txt`, 10, 'text/plain');
    const err = await slotError(dave, { filename: 'f10.txt', size: '10', 'content-type': 'text/plain' });
    assert.equal(err.attrs['type'], 'wait');
    assert.ok(err.getChild('resource-constraint', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
    const carol = await server.connectClient(t, 'carol');
    const slot = await requestSlot(carol, 'fine.txt', 4, 'text/plain');
    assert.equal((await putBytes(slot.put, Buffer.from('fine'), 'text/plain')).status, 201);
  });

  it('go-sendxmpp uploads a file and sends its link', { skip: goSendxmppUnavailable() }, async (t) => {
    const bob = await server.connectClient(t, 'bob');
    await bob.send(xml('presence'));
    await bob.ping();
    const content = Buffer.from(`go-sendxmpp ${MARKER}`);
    const path = join(scratch, 'go-file.txt');
    writeFileSync(path, content);
    const run = await uploadFile({ jid: 'alice@localhost', password: 'pw-alice', port: server.ports.c2s_starttls }, 'bob@localhost', path);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const msg = await bob.waitFor(match.message('alice@localhost'), 10_000, 'the link from go-sendxmpp');
    const url = msg.getChildText('body') ?? '';
    assert.ok(url.startsWith(`${base}/upload/`), url);
    links.push(url);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(content));
  });

  it('deletes the files of a deleted account', async (t) => {
    const carol = await server.connectClient(t, 'carol');
    const slot = await requestSlot(carol, 'gone.txt', 4, 'text/plain');
    assert.equal((await putBytes(slot.put, Buffer.from('gone'), 'text/plain')).status, 201);
    const before = readdirSync(filesDir(server)).length;
    await carol.close();
    const del = await server.cli(['deluser', 'carol@localhost']);
    assert.equal(del.code, 0, del.stderr);
    const res = await fetch(slot.get);
    assert.equal(res.status, 404);
    await res.arrayBuffer();
    // Both of carol's files (fine.txt and gone.txt) are gone from the folder.
    assert.equal(readdirSync(filesDir(server)).length, before - 2);
  });

  it('keeps no marker, file name or link in clear in data_dir or logs, and serves the files after a restart', async () => {
    await server.stop();
    const needles = [MARKER, FILENAME, ...links.map((l) => new URL(l).pathname.split('/')[2] ?? 'missing')];
    for (const f of listFiles(server.root)) {
      if (f.startsWith(scratch)) continue;
      const raw = readFileSync(f);
      for (const n of needles) {
        assert.ok(!raw.includes(Buffer.from(n)), `${n} in clear in ${f}`);
        assert.ok(!raw.includes(Buffer.from(n, 'utf16le')), `${n} in UTF-16 in ${f}`);
      }
    }
    ({ server } = await startUploadServer({ root: server.root, httpsPort }));
    if (slixUrl) {
      const res = await fetch(slixUrl);
      assert.equal(res.status, 200);
      assert.ok(Buffer.from(await res.arrayBuffer()).includes(Buffer.from(MARKER)));
    }
  });
});
