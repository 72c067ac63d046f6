// Shared by the upload tests: a server with an https listener and the upload module, and slot
// requests through stock @xmpp/client.
import { freePort } from '../harness/net.ts';
import { startServer, type StartOptions, type TestServer } from '../harness/server.ts';
import { xml, type Element, type TestClient } from '../harness/client.ts';

export const NS_UPLOAD = 'urn:xmpp:http:upload:0';
export const SERVICE = 'upload.localhost';

/** A server with STARTTLS and https listeners and the upload module (options merged over {}). */
export async function startUploadServer(opts: StartOptions & { upload?: Record<string, unknown>; httpsPort?: number } = {}): Promise<{ server: TestServer; base: string; httpsPort: number }> {
  const httpsPort = opts.httpsPort ?? (await freePort());
  const { upload, config, ...rest } = opts;
  const server = await startServer({
    ...rest,
    config: {
      listeners: [
        { type: 'c2s_starttls', port: 0, address: '127.0.0.1' },
        { type: 'c2s_direct_tls', port: 0, address: '127.0.0.1' },
        { type: 'https', port: httpsPort, address: '127.0.0.1' },
      ],
      modules: { disco: {}, ping: {}, roster: {}, offline: {}, upload: upload ?? {} },
      ...config,
    },
  });
  return { server, base: `https://localhost:${httpsPort}`, httpsPort };
}

export interface SlotUrls {
  put: string;
  get: string;
}

/** A slot through a plain XEP-0363 request. */
export async function requestSlot(client: TestClient, filename: string, size: number, contentType?: string): Promise<SlotUrls> {
  const reply = await client.iqCaller.request(xml('iq', { type: 'get', to: SERVICE }, xml('request', { xmlns: NS_UPLOAD, filename, size: String(size), ...(contentType ? { 'content-type': contentType } : {}) })));
  const slot = reply.getChild('slot', NS_UPLOAD);
  if (!slot) throw new Error(`no slot in ${reply.toString()}`);
  const put = slot.getChild('put')?.attrs['url'];
  const get = slot.getChild('get')?.attrs['url'];
  if (typeof put !== 'string' || typeof get !== 'string') throw new Error(`no slot URLs in ${slot.toString()}`);
  return { put, get };
}

/** The IQ error a request gets (its <error/> element), or a failure when it succeeds. */
export async function slotError(client: TestClient, attrs: Record<string, string>): Promise<Element> {
  try {
    await client.iqCaller.request(xml('iq', { type: 'get', to: SERVICE }, xml('request', { xmlns: NS_UPLOAD, ...attrs })));
  } catch (e) {
    const el = (e as { element?: Element }).element;
    const err = el?.getChild('error') ?? el;
    if (err) return err;
    throw e;
  }
  throw new Error('the slot request succeeded');
}

export async function putBytes(url: string, body: Uint8Array, contentType: string, extra: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'PUT', body: Buffer.from(body), headers: { 'Content-Type': contentType, ...extra } });
}
