import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SessionManager } from './sessions.ts';
import { RecordingConnection, sessionDirectoryContract } from './session-directory.contract.ts';

sessionDirectoryContract('in-process SessionManager', () => {
  const m = new SessionManager();
  return {
    directory: m,
    bind: (c) => m.add(c),
    unbind: (c) => m.remove(c),
    setPresence: (info, p, prio) => m.setPresence(info, p, prio),
    close: () => undefined,
  };
});

describe('SessionManager: resource binding (RFC 6120 §7.7.2.2)', () => {
  it('generates a resource, grants a free one, and applies the conflict policy', () => {
    const m = new SessionManager();
    const first = m.chooseResource('example.org', 'eve', undefined, 'refuse', 10);
    assert.ok('resource' in first && first.resource.startsWith('jx-'));
    const conn = new RecordingConnection('eve@example.org/home');
    m.add(conn);
    assert.deepEqual(m.chooseResource('example.org', 'eve', 'work', 'refuse', 10), { resource: 'work' });
    assert.deepEqual(m.chooseResource('example.org', 'eve', 'home', 'refuse', 10), { error: 'conflict' });
    const kick = m.chooseResource('example.org', 'eve', 'home', 'kick_old', 10);
    assert.ok('replaces' in kick && kick.replaces === conn);
    const random = m.chooseResource('example.org', 'eve', 'home', 'random', 10);
    assert.ok('resource' in random && random.resource.startsWith('home.'));
    assert.deepEqual(m.chooseResource('example.org', 'eve', 'more', 'refuse', 1), { error: 'resource-constraint' });
  });

  it('keeps directed presence per session for the router', () => {
    const m = new SessionManager();
    const info = m.add(new RecordingConnection('fay@example.org/r'));
    m.directed(info).add('room@conference.example.org/fay');
    assert.deepEqual([...m.directed(info)], ['room@conference.example.org/fay']);
    const gone = m.remove(new RecordingConnection('fay@example.org/r'));
    assert.equal(gone, undefined, 'another connection with the same JID is not the bound one');
  });
});
