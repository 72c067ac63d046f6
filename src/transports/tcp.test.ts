// The TCP transport carries elements both ways, as a listener's stream and as an outgoing one,
// with STARTTLS on either side: the outgoing side verifies the peer's certificate names the domain.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { el, type Element } from '../core/xml/element.ts';
import type { ElementTransport, TransportEvents } from '../core/transport.ts';
import { issueTestCertificate } from '../../test/harness/test-ca.ts';
import { connectTcp, listenC2s, type TlsSetup } from './tcp.ts';

/** Collects a transport's events; `next` waits for the next one of a kind. */
function recorder(t: ElementTransport): { next(kind: 'start' | 'element'): Promise<Record<string, string> | Element> } {
  const queue: { kind: string; value: Record<string, string> | Element }[] = [];
  const waiters: { kind: string; resolve: (v: Record<string, string> | Element) => void }[] = [];
  const push = (kind: string, value: Record<string, string> | Element): void => {
    const w = waiters.findIndex((x) => x.kind === kind);
    if (w >= 0) waiters.splice(w, 1)[0]?.resolve(value);
    else queue.push({ kind, value });
  };
  const events: TransportEvents = {
    streamStart: (attrs) => push('start', attrs),
    element: (e) => push('element', e),
    streamEnd: () => undefined,
    error: (err) => push('error', el('error', {}, err.condition)),
    activity: () => undefined,
  };
  t.attach(events);
  return {
    next(kind) {
      const i = queue.findIndex((x) => x.kind === kind);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]?.value ?? {});
      return new Promise((resolve) => waiters.push({ kind, resolve }));
    },
  };
}

/** A listener and one outgoing connection to it, with a test-CA certificate for localhost. */
async function pair(): Promise<{ client: ElementTransport; server: ElementTransport; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'jx-tcp-'));
  const cert = await issueTestCertificate('localhost', dir);
  const context = createSecureContext({ cert: readFileSync(cert.certificate), key: readFileSync(cert.key), minVersion: 'TLSv1.2' });
  const setup: TlsSetup = { options: {}, secureContext: context };
  let accepted!: (t: ElementTransport) => void;
  const incoming = new Promise<ElementTransport>((r) => (accepted = r));
  const listener = await listenC2s({ port: 0, address: '127.0.0.1', direct: false, maxStanzaSize: 65536 }, setup, () => true, (t) => accepted(t));
  const client = await connectTcp({ host: '127.0.0.1', port: listener.port, maxStanzaSize: 65536 }, setup);
  const server = await incoming;
  return {
    client,
    server,
    async close() {
      client.destroy();
      server.destroy();
      await listener.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('TCP transport (RFC 6120 §4, §5)', () => {
  it('carries stream headers and elements both ways, before and after STARTTLS, as listener and as outgoing stream', async () => {
    const { client, server, close } = await pair();
    try {
      const c = recorder(client);
      const s = recorder(server);

      client.openStream({ xmlns: 'jabber:server', to: 'localhost', version: '1.0' });
      assert.equal(((await s.next('start')) as Record<string, string>)['to'], 'localhost');
      server.openStream({ xmlns: 'jabber:server', from: 'localhost', version: '1.0' });
      assert.equal(((await c.next('start')) as Record<string, string>)['from'], 'localhost');

      await Promise.all([server.startTls('localhost'), client.startTls('localhost', 'client')]);
      assert.equal(client.secure, true);
      assert.equal(server.secure, true);
      server.restart();
      client.restart();

      client.openStream({ xmlns: 'jabber:server', to: 'localhost', version: '1.0' });
      await s.next('start');
      server.openStream({ xmlns: 'jabber:server', from: 'localhost', version: '1.0' });
      await c.next('start');
      client.send(el('message', { to: 'a@localhost', from: 'b@remote.example' }, el('body', {}, 'over TLS')));
      assert.equal(((await s.next('element')) as Element).getChildText('body'), 'over TLS');
      server.send(el('iq', { type: 'result', id: 'x' }));
      assert.equal(((await c.next('element')) as Element).attrs['id'], 'x');
      client.closeStream();
      server.closeStream();
    } finally {
      await close();
    }
  });

  it('an outgoing stream refuses a certificate that does not name the domain', async () => {
    const { client, server, close } = await pair();
    try {
      const [, clientSide] = await Promise.allSettled([server.startTls('localhost'), client.startTls('other.example', 'client')]);
      assert.equal(clientSide.status, 'rejected');
    } finally {
      await close();
    }
  });
});
