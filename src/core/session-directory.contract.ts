// The shared contract of session directories and delivery buses: the in-process one runs it
// (sessions.test.ts), and a cluster adapter will run it unchanged.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { el, type Element } from './xml/element.ts';
import { parseJid, type Jid } from './jid.ts';
import type { DeliveryBus, SessionConnection, SessionDirectory, SessionInfo } from './session.ts';

/** What the contract needs to drive an implementation: its read side and its core-only writes. */
export interface DirectoryUnderTest {
  directory: SessionDirectory & DeliveryBus;
  bind(conn: SessionConnection): SessionInfo | Promise<SessionInfo>;
  unbind(conn: SessionConnection): SessionInfo | undefined | Promise<SessionInfo | undefined>;
  setPresence(info: SessionInfo, presence: Element | undefined, priority: number): void | Promise<void>;
  close(): void | Promise<void>;
}

/** A connection that records what it was handed and can be made to refuse. */
export class RecordingConnection implements SessionConnection {
  readonly jid: Jid;
  readonly received: Element[] = [];
  backedUp = false;
  closed = false;

  constructor(jid: string) {
    this.jid = parseJid(jid);
  }

  send(stanza: Element): boolean {
    if (this.closed || this.backedUp) return false;
    this.received.push(stanza);
    return true;
  }

  close(): void {
    this.closed = true;
  }
}

export function sessionDirectoryContract(name: string, make: () => Promise<DirectoryUnderTest> | DirectoryUnderTest): void {
  describe(`session directory contract: ${name}`, () => {
    const withDir = async (fn: (d: DirectoryUnderTest) => Promise<void>): Promise<void> => {
      const d = await make();
      try {
        await fn(d);
      } finally {
        await d.close();
      }
    };

    it('finds a bound session by full JID and by account, and forgets it when unbound', () =>
      withDir(async (d) => {
        const a = new RecordingConnection('alice@example.org/phone');
        const b = new RecordingConnection('alice@example.org/laptop');
        const info = await d.bind(a);
        await d.bind(b);
        assert.equal(info.jid.toString(), 'alice@example.org/phone');
        assert.equal(info.user, 'alice');
        assert.equal(info.host, 'example.org');
        assert.equal(info.resource, 'phone');
        assert.equal(typeof info.node, 'string');
        assert.equal(d.directory.get('alice@example.org/phone')?.resource, 'phone');
        assert.deepEqual(d.directory.resources('example.org', 'alice').map((s) => s.resource).sort(), ['laptop', 'phone']);
        assert.equal(d.directory.count(), 2);
        const gone = await d.unbind(a);
        assert.equal(gone?.jid.toString(), 'alice@example.org/phone');
        assert.equal(d.directory.get('alice@example.org/phone'), undefined);
        assert.equal(await d.unbind(a), undefined, 'unbinding twice is a no-op');
        assert.equal(d.directory.count(), 1);
        assert.deepEqual(d.directory.resources('example.org', 'nobody'), []);
      }));

    it('available: sessions that sent available presence and are not backed up; presence and priority are live', () =>
      withDir(async (d) => {
        const a = new RecordingConnection('bob@example.org/a');
        const b = new RecordingConnection('bob@example.org/b');
        const ia = await d.bind(a);
        const ib = await d.bind(b);
        assert.deepEqual(d.directory.available('example.org', 'bob'), []);
        const p = el('presence', {}, el('priority', {}, '5'));
        await d.setPresence(ia, p, 5);
        assert.equal(ia.presence, p);
        assert.equal(ia.priority, 5);
        assert.deepEqual(d.directory.available('example.org', 'bob').map((s) => s.resource), ['a']);
        a.backedUp = true;
        assert.equal(ia.backedUp, true);
        assert.deepEqual(d.directory.available('example.org', 'bob'), [], 'a backed-up session is not a candidate');
        a.backedUp = false;
        await d.setPresence(ib, el('presence'), 0);
        await d.setPresence(ia, undefined, 0);
        assert.equal(ia.presence, undefined);
        assert.deepEqual(d.directory.available('example.org', 'bob').map((s) => s.resource), ['b']);
      }));

    it('delivers to a session on its node; false for a gone, backed-up or unknown session, or another node', () =>
      withDir(async (d) => {
        const a = new RecordingConnection('carol@example.org/x');
        const info = await d.bind(a);
        const m = el('message', { to: 'carol@example.org/x' }, el('body', {}, 'hi'));
        assert.equal(d.directory.deliver(info.node, 'carol@example.org/x', m), true);
        assert.equal(a.received[0], m);
        a.backedUp = true;
        assert.equal(d.directory.deliver(info.node, 'carol@example.org/x', m), false);
        a.backedUp = false;
        assert.equal(d.directory.deliver(info.node, 'carol@example.org/nope', m), false);
        assert.equal(d.directory.deliver(`${info.node}-elsewhere`, 'carol@example.org/x', m), false);
        await d.unbind(a);
        assert.equal(d.directory.deliver(info.node, 'carol@example.org/x', m), false);
        assert.equal(a.received.length, 1);
      }));

    it('a rebind of the same full JID replaces the entry; the old connection unbinding does not remove the new one', () =>
      withDir(async (d) => {
        const old = new RecordingConnection('dave@example.org/r');
        const fresh = new RecordingConnection('dave@example.org/r');
        await d.bind(old);
        await d.unbind(old);
        await d.bind(fresh);
        assert.equal(await d.unbind(old), undefined);
        assert.ok(d.directory.get('dave@example.org/r'));
      }));
  });
}
