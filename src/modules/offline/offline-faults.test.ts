// The offline module when things go wrong (issue 7 C/B), in process: the real Router,
// SessionManager, module loader and SQLite store, with client sessions that can refuse stanzas
// the way a closed or backed-up stream does (Session.send returning false).
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { el, type Element } from '../../core/xml/element.ts';
import { parseJid } from '../../core/jid.ts';
import { errorReply } from '../../core/stanza-errors.ts';
import { StanzaError } from '../../core/errors.ts';
import { SessionManager } from '../../core/sessions.ts';
import { Router } from '../../core/router.ts';
import { Accounts } from '../../core/accounts.ts';
import { HostRuntime, loadHostModules } from '../../core/module-loader.ts';
import type { Json, StorageBackend } from '../../core/storage.ts';
import { SqliteBackend } from '../../storage/sqlite.ts';
import { testStorage } from '../../storage/test-storage.ts';
import { FakeHost, FakeSession } from '../roster/in-process-host.fixture.ts';
import { offline } from './index.ts';

const HOST = 'example.com';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

const chat = (to: string, body: string, id?: string): Element => el('message', { to, type: 'chat', id }, el('body', {}, body));
const bodies = (s: FakeSession): (string | undefined)[] => s.take((e) => e.name === 'message').map((m) => m.getChildText('body'));

/** A session whose stream takes only `takes` more messages, then refuses (closed or backed up). */
class Backlogged extends FakeSession {
  takes: number;

  constructor(jid: string, takes: number) {
    super(jid);
    this.takes = takes;
  }

  override send(stanza: Element): boolean {
    if (stanza.name === 'message') {
      if (this.takes <= 0) return false;
      this.takes--;
    }
    super.send(stanza);
    return true;
  }
}

describe('offline delivery to a session that stops taking messages', () => {
  let h: FakeHost;
  beforeEach(async () => {
    h = await FakeHost.start([offline]);
  });
  afterEach(() => h.stop());

  it('stops at the first refused message and keeps it and the rest stored, in order', async () => {
    const romeo = await h.login('romeo');
    await h.user('juliet');
    for (let i = 1; i <= 5; i++) await h.send(romeo, chat(`juliet@${HOST}`, `m${i}`));
    const archive = h.storage.archive<Json>(HOST, 'offline');
    assert.equal(await archive.count('juliet'), 5);

    const slow = new Backlogged(`juliet@${HOST}/slow`, 2);
    slow.bind(h.sessions.add(slow));
    await h.presence(slow);
    assert.deepEqual(bodies(slow), ['m1', 'm2']);
    assert.equal(await archive.count('juliet'), 3, 'the refused message and the ones after it stay stored');
    await h.drop(slow);

    const next = await h.login('juliet', 'phone');
    await h.presence(next);
    assert.deepEqual(bodies(next), ['m3', 'm4', 'm5']);
    assert.equal(await archive.count('juliet'), 0);
  });

  it('a session that refuses the very first message loses nothing', async () => {
    const romeo = await h.login('romeo');
    await h.user('juliet');
    await h.send(romeo, chat(`juliet@${HOST}`, 'only'));
    const closed = new Backlogged(`juliet@${HOST}/gone`, 0);
    closed.bind(h.sessions.add(closed));
    await h.presence(closed);
    assert.deepEqual(bodies(closed), []);
    assert.equal(await h.storage.archive(HOST, 'offline').count('juliet'), 1);
  });
});

/**
 * A store on a file, so a second process can lock it, with a short busy wait: the message that
 * can't be stored in time bounces to its sender; the sender's session and later messages go on.
 */
describe('offline storage while another process holds the database lock', () => {
  let dir: string;
  let storage: StorageBackend;
  let sessions: SessionManager;
  let router: Router;
  let rt: HostRuntime;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jabberx-offline-busy-'));
    storage = testStorage(new SqliteBackend({ path: join(dir, 'data.sqlite'), busyWaitMs: 300 }));
    await storage.open();
    sessions = new SessionManager();
    rt = new HostRuntime(HOST);
    const accounts = new Accounts(storage, 4096);
    const log = pino({ level: 'silent' });
    router = new Router(sessions, accounts, (d) => (d === HOST ? rt.hooks : undefined), log);
    const server = { name: 'JabberX', version: 'test', hosts: [HOST], isLocalHost: (d: string) => d === HOST };
    await loadHostModules(rt, { modules: new Map([['offline', { options: {}, lines: new Map<string, number>() }]]) }, new Map([['offline', offline]]), { server, storage, sessions, router, log });
    for (const u of ['romeo', 'juliet']) await accounts.create(HOST, u, 'secret');
  });

  after(async () => {
    await rt.unload(pino({ level: 'silent' }));
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What the c2s stream does with a client's stanza: errors it throws go back to the sender. */
  async function fromClient(s: FakeSession, stanza: Element): Promise<void> {
    stanza.attrs['from'] = s.jid.toString();
    try {
      await router.fromClient(s.info, stanza, parseJid(String(stanza.attrs['to'])));
    } catch (e) {
      if (!(e instanceof StanzaError)) throw e;
      s.send(errorReply(stanza, e, {}));
    }
  }

  function holdLock(ms: number): Promise<{ released: Promise<void> }> {
    const script = `
      const { DatabaseSync } = require('node:sqlite');
      const db = new DatabaseSync(process.argv[1]);
      db.exec('BEGIN EXCLUSIVE');
      process.stdout.write('locked\\n');
      setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(process.argv[2]));
    `;
    const child = spawn(process.execPath, ['-e', script, join(dir, 'data.sqlite'), String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const released = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return new Promise((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        if (d.includes('locked')) resolve({ released });
      });
      child.once('exit', (code) => reject(new Error(`lock holder exited early (${String(code)})`)));
    });
  }

  it('bounces with resource-constraint (wait) past busy_wait, then stores again', async () => {
    const romeo = new FakeSession(`romeo@${HOST}/r1`);
    romeo.bind(sessions.add(romeo));
    const { released } = await holdLock(1000);
    await fromClient(romeo, chat(`juliet@${HOST}`, 'during the lock', 'held'));
    const [bounce] = romeo.take((e) => e.name === 'message' && e.attrs['type'] === 'error');
    assert.ok(bounce, 'the sender hears the message was not stored');
    assert.equal(bounce.attrs['id'], 'held');
    assert.equal(bounce.attrs['from'], `juliet@${HOST}`);
    const error = bounce.getChild('error');
    assert.equal(error?.attrs['type'], 'wait');
    assert.ok(error?.getChild('resource-constraint', NS_STANZAS));
    await released;
    await fromClient(romeo, chat(`juliet@${HOST}`, 'after the lock', 'ok'));
    assert.deepEqual(romeo.take((e) => e.attrs['type'] === 'error'), []);
    assert.equal((await storage.archive<Json>(HOST, 'offline').list('juliet')).length, 1);
  });
});
