import { it } from 'node:test';
import assert from 'node:assert/strict';
import { capsVer, verificationString } from './caps-ver.ts';

it('XEP-0115 §5.2 simple example', () => {
  const ids = [{ category: 'client', type: 'pc', name: 'Exodus 0.9.1' }];
  const features = ['http://jabber.org/protocol/caps', 'http://jabber.org/protocol/disco#info', 'http://jabber.org/protocol/disco#items', 'http://jabber.org/protocol/muc'];
  assert.equal(verificationString(ids, features), 'client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<');
  assert.equal(capsVer(ids, features), 'QgayPKawpkPSDYmwT/WM94uAlu0=');
});

it('XEP-0115 §5.3 complex example (identities with xml:lang, an extended form)', () => {
  const ids = [
    { category: 'client', type: 'pc', lang: 'en', name: 'Psi 0.11' },
    { category: 'client', type: 'pc', lang: 'el', name: 'Ψ 0.11' },
  ];
  const features = ['http://jabber.org/protocol/caps', 'http://jabber.org/protocol/disco#info', 'http://jabber.org/protocol/disco#items', 'http://jabber.org/protocol/muc'];
  const forms = [{
    formType: 'urn:xmpp:dataforms:softwareinfo',
    fields: [
      { name: 'ip_version', values: ['ipv4', 'ipv6'] },
      { name: 'os', values: ['Mac'] },
      { name: 'os_version', values: ['10.5.1'] },
      { name: 'software', values: ['Psi'] },
      { name: 'software_version', values: ['0.11'] },
    ],
  }];
  assert.equal(capsVer(ids, features, forms), 'q07IKJEyjvHSyhy//CH0CxmKi8w=');
});

it('§5.4: duplicate features or identities cannot be verified', () => {
  assert.throws(() => capsVer([], ['a', 'a']));
  assert.throws(() => capsVer([{ category: 'c', type: 't' }, { category: 'c', type: 't' }], []));
});
