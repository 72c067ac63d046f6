import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { el } from '../../core/xml/element.ts';
import { RoomHistory } from './history.ts';
import { applyConfigForm } from './config-form.ts';
import { defaultConfig } from './room.ts';
import { FormValues } from '../../lib/data-form.ts';
import type { StanzaError } from '../../core/errors.ts';

const msg = (n: number) => el('message', { type: 'groupchat' }, el('body', {}, `message ${n}`));
const bodies = (h: RoomHistory, limit: number, req = {}) => h.select(limit, req).map((e) => e.stanza.getChildText('body'));

describe('room history (memory only)', () => {
  it('keeps at most the room limit, and honours maxstanzas, maxchars and the limit at replay', () => {
    const h = new RoomHistory(60_000);
    for (let n = 1; n <= 5; n++) h.add(msg(n), 3);
    assert.deepEqual(bodies(h, 3), ['message 3', 'message 4', 'message 5']);
    assert.deepEqual(bodies(h, 2), ['message 4', 'message 5']);
    assert.deepEqual(bodies(h, 3, { maxstanzas: 1 }), ['message 5']);
    assert.deepEqual(bodies(h, 3, { maxstanzas: 0 }), []);
    assert.deepEqual(bodies(h, 3, { maxchars: 0 }), []);
    const one = msg(5).toString().length;
    assert.deepEqual(bodies(h, 3, { maxchars: one * 2 }), ['message 4', 'message 5']);
    assert.deepEqual(bodies(h, 0), []);
    assert.deepEqual(bodies(h, 3, { since: new Date(Date.now() + 1000) }), []);
  });

  it('keeps nothing when the limit is 0', () => {
    const h = new RoomHistory(60_000);
    h.add(msg(1), 0);
    assert.deepEqual(bodies(h, 5), []);
  });
});

describe('room configuration form', () => {
  const form = (values: Record<string, string[]>) => new FormValues('submit', new Map(Object.entries(values)));

  it('applies fields, caps maxusers and history, refuses logging and a password-less protected room', () => {
    const c = applyConfigForm(defaultConfig(100, 20), form({
      'muc#roomconfig_roomname': ['Room'], 'muc#roomconfig_maxusers': ['5000'], 'muc#maxhistoryfetch': ['999'],
      'muc#roomconfig_whois': ['anyone'], 'muc#roomconfig_presencebroadcast': ['moderator'],
    }), 100, 20);
    assert.equal(c.name, 'Room');
    assert.equal(c.maxUsers, 100);
    assert.equal(c.historyLength, 20);
    assert.equal(c.whois, 'anyone');
    assert.deepEqual(c.presenceBroadcast, ['moderator']);
    assert.throws(() => applyConfigForm(defaultConfig(100, 20), form({ 'muc#roomconfig_enablelogging': ['1'] }), 100, 20),
      (e: StanzaError) => e.condition === 'not-acceptable');
    assert.throws(() => applyConfigForm(defaultConfig(100, 20), form({ 'muc#roomconfig_passwordprotectedroom': ['1'] }), 100, 20),
      (e: StanzaError) => e.condition === 'not-acceptable');
  });
});
