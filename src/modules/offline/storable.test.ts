// XEP-0160 §3 and XEP-0334: which messages go to offline storage.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { el } from '../../core/xml/element.ts';
import { offlineVerdict } from './storable.ts';

const CS = 'http://jabber.org/protocol/chatstates';
const HINTS = 'urn:xmpp:hints';

describe('XEP-0160 §3 offline storage by message type and content', () => {
  it('stores normal and chat messages with a body', () => {
    assert.equal(offlineVerdict(el('message', {}, el('body', {}, 'hi'))), 'store');
    assert.equal(offlineVerdict(el('message', { type: 'normal' }, el('body', {}, 'hi'))), 'store');
    assert.equal(offlineVerdict(el('message', { type: 'chat' }, el('body', {}, 'hi'), el('active', { xmlns: CS }))), 'store');
  });

  it('stores content other than a body (e.g. an encrypted payload or a receipt)', () => {
    assert.equal(offlineVerdict(el('message', { type: 'chat' }, el('encrypted', { xmlns: 'eu.siacs.conversations.axolotl' }))), 'store');
    assert.equal(offlineVerdict(el('message', { type: 'chat' }, el('received', { xmlns: 'urn:xmpp:receipts', id: 'x' }))), 'store');
  });

  it('drops chat-state-only messages silently, thread or not', () => {
    assert.equal(offlineVerdict(el('message', { type: 'chat' }, el('composing', { xmlns: CS }))), 'drop');
    assert.equal(offlineVerdict(el('message', { type: 'chat' }, el('paused', { xmlns: CS }), el('thread', {}, 't1'))), 'drop');
    assert.equal(offlineVerdict(el('message', { type: 'chat' })), 'drop');
  });

  it('never stores groupchat, headline or error messages', () => {
    for (const type of ['groupchat', 'headline', 'error']) {
      assert.equal(offlineVerdict(el('message', { type }, el('body', {}, 'hi'))), 'refuse', type);
    }
  });

  it('XEP-0334: <no-store/> refuses, <store/> keeps', () => {
    assert.equal(offlineVerdict(el('message', { type: 'chat' }, el('body', {}, 'hi'), el('no-store', { xmlns: HINTS }))), 'refuse');
    assert.equal(offlineVerdict(el('message', { type: 'chat' }, el('composing', { xmlns: CS }), el('store', { xmlns: HINTS }))), 'store');
  });
});
