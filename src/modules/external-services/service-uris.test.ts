// RFC 7064/7065 URIs as the operator writes them, and the coturn REST API credentials.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { parseServiceUri } from './service-uris.ts';
import { turnCredentials } from './credentials.ts';
import { validateHostModules } from '../../core/module-loader.ts';
import { moduleRegistry } from '../registry.ts';

describe('external services', () => {
  it('reads stun:, stuns:, turn:, turns: URIs with their default ports and transports', () => {
    assert.deepEqual(parseServiceUri('stun:stun.example.org'), { type: 'stun', host: 'stun.example.org', port: 3478, transport: 'udp', restricted: false });
    assert.deepEqual(parseServiceUri('turns:turn.example.org'), { type: 'turns', host: 'turn.example.org', port: 5349, transport: 'tcp', restricted: true });
    assert.deepEqual(parseServiceUri('turn:[2001:db8::1]:3479?transport=tcp'), { type: 'turn', host: '2001:db8::1', port: 3479, transport: 'tcp', restricted: true });
    for (const bad of ['http://turn.example.org', 'turn:', 'stun:h?transport=udp', 'turns:h?transport=udp', 'turn:h:70000', 'turn://h']) {
      assert.throws(() => parseServiceUri(bad), (e: unknown) => typeof e === 'string', bad);
    }
  });

  it('credentials: the expiry as user name, base64 HMAC-SHA1 of it as password, XEP-0082 expiry', () => {
    const c = turnCredentials('s3cret', 3_600_000, Date.UTC(2025, 0, 31, 14, 5, 0, 500));
    assert.equal(c.username, String(Date.UTC(2025, 0, 31, 15, 5, 0) / 1000));
    assert.equal(c.password, createHmac('sha1', 's3cret').update(c.username).digest('base64'));
    assert.equal(c.expires, '2025-01-31T15:05:00Z');
  });

  it('check-config: TURN services need the secret', () => {
    const config = (options: Record<string, unknown>) => ({ modules: new Map([['external-services', { options, lines: new Map([['services', 7]]) }]]) });
    assert.throws(() => validateHostModules('example.org', config({ services: ['turn:turn.example.org'] }), moduleRegistry), /modules\.external-services\.secret \(host example\.org\): needed for turn:\/turns: services/);
    assert.throws(() => validateHostModules('example.org', config({ services: ['turn:turn.example.org', 'ftp:x'] }), moduleRegistry), /modules\.external-services\.services \(host example\.org, line 7\): expected a URI/);
    validateHostModules('example.org', config({ services: ['stun:stun.example.org'] }), moduleRegistry);
    validateHostModules('example.org', config({ services: ['turns:turn.example.org'], secret: 's' }), moduleRegistry);
  });
});
