// What an inactive client (XEP-0352) can wait for.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { el } from '../../core/xml/element.ts';
import { holdKey } from './importance.ts';

const SELF = 'a@h/phone';
const CS = 'http://jabber.org/protocol/chatstates';

describe('XEP-0352 hold rules', () => {
  it('holds presence updates per sender full JID, never subscriptions or its own presence', () => {
    assert.equal(holdKey(el('presence', { from: 'b@h/x', to: SELF }), SELF), 'p b@h/x');
    assert.equal(holdKey(el('presence', { from: 'b@h/x', type: 'unavailable' }), SELF), 'p b@h/x');
    assert.equal(holdKey(el('presence', { from: 'b@h', type: 'subscribe' }), SELF), undefined);
    assert.equal(holdKey(el('presence', { from: SELF }), SELF), undefined);
  });
  it('holds chat-state-only messages per sender unless addressed to this resource', () => {
    assert.equal(holdKey(el('message', { from: 'b@h/x', to: 'a@h', type: 'chat' }, el('composing', { xmlns: CS })), SELF), 'c b@h/x');
    assert.equal(holdKey(el('message', { from: 'b@h/x', to: SELF, type: 'chat' }, el('composing', { xmlns: CS })), SELF), undefined);
    assert.equal(holdKey(el('message', { from: 'b@h/x', to: 'a@h' }, el('body', {}, 'hi'), el('active', { xmlns: CS })), SELF), undefined);
    assert.equal(holdKey(el('iq', { from: 'h', type: 'get' }), SELF), undefined);
  });
});
