// Which one-to-one messages the policy accepts: an accepted scheme's payload (named by XEP-0380
// when present), or no body at all.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { el } from '../../core/xml/element.ts';
import { isAcceptable, isOneToOne } from './rules.ts';

const body = () => el('body', {}, 'text');
const eme = (namespace: string) => el('encryption', { xmlns: 'urn:xmpp:eme:0', namespace });

describe('e2e-policy rules', () => {
  it('one-to-one: chat and normal (also a missing type); not groupchat, headline or error', () => {
    assert.ok(isOneToOne(el('message', { type: 'chat' })));
    assert.ok(isOneToOne(el('message', {})));
    assert.ok(isOneToOne(el('message', { type: 'normal' })));
    for (const type of ['groupchat', 'headline', 'error']) assert.ok(!isOneToOne(el('message', { type })));
  });

  it('accepts each scheme by its payload, with or without a fallback body', () => {
    for (const payload of [
      el('encrypted', { xmlns: 'eu.siacs.conversations.axolotl' }),
      el('encrypted', { xmlns: 'urn:xmpp:omemo:2' }),
      el('openpgp', { xmlns: 'urn:xmpp:openpgp:0' }, 'BASE64'),
      el('x', { xmlns: 'jabber:x:encrypted' }, 'ARMOR'),
    ]) {
      assert.ok(isAcceptable(el('message', { type: 'chat' }, payload, body())));
      assert.ok(isAcceptable(el('message', { type: 'chat' }, payload, eme(payload.attrs['xmlns'] ?? ''), body())));
    }
  });

  it('refuses a plain body, an EME without its payload, and an EME naming another scheme', () => {
    assert.ok(!isAcceptable(el('message', { type: 'chat' }, body())));
    assert.ok(!isAcceptable(el('message', { type: 'chat' }, el('body'))));
    assert.ok(!isAcceptable(el('message', { type: 'chat' }, eme('eu.siacs.conversations.axolotl'), body())));
    assert.ok(!isAcceptable(el('message', { type: 'chat' }, eme('urn:xmpp:otr:0'), body())));
    assert.ok(!isAcceptable(el('message', { type: 'chat' }, el('encrypted', { xmlns: 'urn:xmpp:omemo:2' }), eme('urn:xmpp:otr:0'), body())));
    // The payload element in the wrong namespace is not a payload.
    assert.ok(!isAcceptable(el('message', { type: 'chat' }, el('encrypted', { xmlns: 'urn:example' }), body())));
  });

  it('accepts body-less messages (chat states, receipts, markers)', () => {
    assert.ok(isAcceptable(el('message', { type: 'chat' }, el('active', { xmlns: 'http://jabber.org/protocol/chatstates' }))));
    assert.ok(isAcceptable(el('message', { type: 'chat' }, el('received', { xmlns: 'urn:xmpp:receipts', id: 'x' }))));
  });
});
