// The published policy is what the server does: /terms and /privacy are rendered from the running
// configuration, each statement is held to the behaviour, and `jabberx audit` checks the data.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type TestServer } from '../harness/server.ts';
import { match, xml } from '../harness/client.ts';
import { withStorage } from '../harness/store.ts';

const DAY = 86_400_000;
const HTTP = { type: 'http', port: 0, address: '127.0.0.1' };

async function page(server: TestServer, path: string): Promise<{ status: number; type: string; text: string }> {
  const port = (server.ports as unknown as Record<string, number>)['http'];
  const res = await fetch(`http://127.0.0.1:${String(port)}${path}`);
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

function listeners(): unknown[] {
  return [{ type: 'c2s_starttls', port: 0, address: '127.0.0.1' }, { type: 'c2s_direct_tls', port: 0, address: '127.0.0.1' }, HTTP];
}

describe('policy pages from the configuration', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      users: [['carol@localhost', 'pw-carol'], ['dave@localhost', 'pw-dave']],
      config: {
        listeners: listeners(),
        modules: { offline: { max_age: '3d' } },
        policy: { operator_name: 'Example Chat e.V.', contact: 'admin@example.org' },
      },
    });
  });
  after(() => server.remove());

  it('serves /terms and /privacy as HTML and text', async () => {
    for (const path of ['/terms', '/privacy']) {
      const html = await page(server, path);
      assert.equal(html.status, 200);
      assert.match(html.type, /text\/html/);
      const text = await page(server, `${path}.txt`);
      assert.match(text.type, /text\/plain/);
      assert.match(text.text, /Example Chat e\.V\./);
    }
    assert.equal((await page(server, '/nope')).status, 404);
  });

  it('states the configured limits and what is (not) kept', async () => {
    const { text } = await page(server, '/privacy.txt');
    assert.match(text, /3 days/, 'offline limit from config');
    assert.doesNotMatch(text, /7 days/);
    assert.match(text, /TLS 1\.2/);
    assert.match(text, /no (message )?archive|not keep an archive|does not keep .*archive/i);
    assert.match(text, /AES-256-GCM/);
  });

  it('holds the statement to the behaviour: a 4-day-old offline message is purged, never delivered', async (t) => {
    const carol = await server.connectClient(t, 'carol');
    await carol.send(xml('message', { to: 'dave@localhost', type: 'chat' }, xml('body', {}, 'four days old')));
    await carol.send(xml('message', { to: 'dave@localhost', type: 'chat' }, xml('body', {}, 'fresh')));
    await new Promise((r) => setTimeout(r, 300));
    await carol.close();
    await server.stop();
    // Age the first message by four days (timestamps stay in clear for exactly this purge): the
    // same message, stored again with a date four days back, through the store API.
    await withStorage(server, async (storage) => {
      const offline = storage.archive(server.domain, 'offline');
      const [first, ...rest] = await offline.list('dave');
      assert.ok(first);
      assert.equal(rest.length, 1);
      await offline.delete('dave', [first.id]);
      await offline.append('dave', first.value, new Date(Date.now() - 4 * DAY));
    }, { write: true });

    server = await startServer({ root: server.root, config: { listeners: listeners(), modules: { offline: { max_age: '3d' } }, policy: { operator_name: 'Example Chat e.V.', contact: 'admin@example.org' } } });
    server.passwords.set('dave@localhost', 'pw-dave');
    const dave = await server.connectClient(t, 'dave');
    await dave.send(xml('presence'));
    await dave.waitFor(match.message('carol@localhost', 'fresh'));
    await dave.expectNone(match.message('carol@localhost', 'four days old'), 500, 'the expired message');
  });

  it('keeps the "last changed" date while settings stay, and moves it when they change', async () => {
    const before = (await page(server, '/privacy.txt')).text;
    const stamp = /last changed: [\d-]+ [\d:]+ UTC/i.exec(before)?.[0];
    assert.ok(stamp, `a last-changed line in: ${before.slice(-300)}`);
    await server.stop();
    server = await startServer({ root: server.root, config: { listeners: listeners(), modules: { offline: { max_age: '3d' } }, policy: { operator_name: 'Example Chat e.V.', contact: 'admin@example.org' } } });
    assert.equal(/last changed: [\d-]+ [\d:]+ UTC/i.exec((await page(server, '/privacy.txt')).text)?.[0], stamp, 'same settings, same date');
    await server.stop();
    server = await startServer({ root: server.root, config: { listeners: listeners(), modules: { offline: { max_age: '5d' } }, policy: { operator_name: 'Example Chat e.V.', contact: 'admin@example.org' } } });
    const after = (await page(server, '/privacy.txt')).text;
    assert.match(after, /5 days/);
    const moved = /last changed: [\d-]+ [\d:]+ UTC/i.exec(after)?.[0];
    assert.ok(moved && moved !== stamp, `${String(moved)} after ${stamp}`);
  });
});

describe('jabberx audit', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ users: [['erin@localhost', 'AuditPwMarker-19ac']] });
  });
  after(() => server.remove());

  it('finds nothing after a normal run, and reports planted plaintext with exit 1', async (t) => {
    const erin = await server.connectClient(t, 'erin');
    await erin.iqSet(xml('vCard', 'vcard-temp', xml('EMAIL', {}, xml('USERID', {}, 'erin-audit@example.org'))));
    await erin.close();
    await server.stop();
    const clean = await server.cli(['audit', '--marker', 'AuditPwMarker-19ac', '--marker', 'erin-audit@example.org']);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    writeFileSync(join(server.dataDir, 'stray.txt'), 'visitor 198.51.100.23 wrote to leak@example.org about AuditPwMarker-19ac\n');
    const dirty = await server.cli(['audit', '--marker', 'AuditPwMarker-19ac']);
    assert.equal(dirty.code, 1);
    assert.match(dirty.stdout, /stray\.txt/);
    assert.match(dirty.stdout, /marker/);
    assert.match(dirty.stdout, /ip/i);
    assert.match(dirty.stdout, /e-?mail/i);
    assert.ok(!dirty.stdout.includes('198.51.100.23'), 'findings are masked');
  });
});

describe('policy pages follow the account features (issue 10)', () => {
  it('speak of registration, its CAPTCHA and the e-mail address only when they are on', async (t) => {
    const open = await startServer({ config: { listeners: listeners(), modules: { roster: {}, register: { mode: 'captcha' }, email: {}, adhoc: {}, 'data-export': {} } } });
    t.after(() => open.remove());
    const terms = (await page(open, '/terms.txt')).text.replace(/\s+/g, ' ');
    assert.match(terms, /Do not register accounts in bulk or with automated scripts, and do not try to get around the CAPTCHA/);
    assert.match(terms, /delete your account yourself/);
    const privacy = (await page(open, '/privacy.txt')).text.replace(/\s+/g, ' ');
    assert.match(privacy, /E-mail address: only if you give one/);
    assert.match(privacy, /a portable copy of everything stored for your account/);

    const closed = await startServer({ config: { listeners: listeners(), modules: { roster: {}, register: {} } } });
    t.after(() => closed.remove());
    const closedTerms = (await page(closed, '/terms.txt')).text.replace(/\s+/g, ' ');
    assert.doesNotMatch(closedTerms, /register accounts in bulk/);
    assert.doesNotMatch((await page(closed, '/privacy.txt')).text, /E-mail address/);
  });
});
