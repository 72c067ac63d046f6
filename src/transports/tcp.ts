// XML streams over TCP (RFC 6120 §4): listeners for clients with STARTTLS on one port (§5) and direct
// TLS on another (XEP-0368), and outgoing connections whose TLS verifies the peer (server-to-server).
import net from 'node:net';
import tls from 'node:tls';
import { createHash, X509Certificate } from 'node:crypto';
import type { ChannelBindingType, ElementTransport, TransportEvents } from '../core/transport.ts';
import type { Element } from '../core/xml/element.ts';
import { escapeXml } from '../core/xml/element.ts';
import { StreamParser } from '../core/xml/parser.ts';
import type { StreamError } from '../core/errors.ts';

const NS_STREAM = 'http://etherx.jabber.org/streams';
import { bindListener, type Listener } from './listen.ts';

export interface TlsSetup {
  /** Options for tls.createServer / new TLSSocket (certificates, SNI, minimum version, ciphers). */
  options: tls.TlsOptions;
  secureContext: tls.SecureContext;
  /** The context of a served host, for STARTTLS without SNI (the stream header named the host). */
  contextFor?: (host: string) => tls.SecureContext | undefined;
}

export type { Listener };

/** Decides before any byte is read whether a peer may connect (IP blocks plug in here). */
export type AdmitPeer = (address: string | undefined) => boolean;

/** XML stream framing over TCP (RFC 6120 §4): a <stream:stream> document, parsed here. */
class TcpTransport implements ElementTransport {
  #socket: net.Socket | tls.TLSSocket;
  #tlsSetup: TlsSetup;
  readonly #parser: StreamParser;
  #events: TransportEvents | undefined;
  #closeCbs: (() => void)[] = [];
  #drainCbs: (() => void)[] = [];
  #upgraded = false;
  #closed = false;
  readonly peerAddress: string | undefined;

  constructor(socket: net.Socket | tls.TLSSocket, tlsSetup: TlsSetup, maxStanzaSize: number) {
    this.#socket = socket;
    this.#tlsSetup = tlsSetup;
    this.peerAddress = socket.remoteAddress;
    // The parser reports to the stream once it has attached; nothing is read before that.
    this.#parser = new StreamParser(
      {
        streamStart: (attrs, name) => this.#events?.streamStart(attrs, name),
        element: (e) => this.#events?.element(e),
        streamEnd: () => this.#events?.streamEnd(),
        error: (err) => this.#events?.error(err),
        keepalive: () => this.#events?.activity(),
      },
      { maxStanzaSize },
    );
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    this.#attach(socket);
  }

  // The handlers are fields so that STARTTLS can detach exactly ours from the plain socket,
  // leaving the listener's own bookkeeping (its set of open sockets) in place.
  readonly #onData = (chunk: Buffer) => {
    this.#events?.activity();
    this.#parser.write(chunk);
  };
  readonly #onDrain = () => this.#drainCbs.forEach((cb) => cb());
  readonly #onSocketClose = () => this.#onClose();

  #attach(s: net.Socket): void {
    s.on('data', this.#onData);
    s.on('drain', this.#onDrain);
    s.on('error', () => s.destroy());
    s.on('close', this.#onSocketClose);
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#parser.end();
    for (const cb of this.#closeCbs) cb();
  }

  attach(events: TransportEvents): void {
    this.#events = events;
  }

  openStream(attrs: Record<string, string>): void {
    let header = `<?xml version='1.0'?><stream:stream xmlns:stream='${NS_STREAM}'`;
    for (const [k, v] of Object.entries(attrs)) header += ` ${k}='${escapeXml(v)}'`;
    this.#write(header + '>');
  }

  send(e: Element, serialized = e.toString()): boolean {
    return this.#write(serialized);
  }

  closeStream(error?: StreamError): void {
    this.#write((error ? error.toElement().toString() : '') + '</stream:stream>');
  }

  restart(): void {
    this.#parser.reset();
  }

  setMaxStanzaSize(bytes: number): void {
    this.#parser.setMaxStanzaSize(bytes);
  }

  #write(data: string): boolean {
    if (this.#socket.destroyed || this.#socket.writableEnded) return false;
    return this.#socket.write(data);
  }

  get secure(): boolean {
    return this.#socket instanceof tls.TLSSocket && this.#socket.encrypted === true;
  }

  get canStartTls(): boolean {
    return !this.secure && !this.#upgraded;
  }

  get pendingBytes(): number {
    return this.#socket.writableLength;
  }

  startTls(host?: string, role: 'server' | 'client' = 'server'): Promise<void> {
    this.#upgraded = true;
    const raw = this.#socket;
    raw.off('data', this.#onData);
    raw.off('close', this.#onSocketClose);
    raw.off('drain', this.#onDrain);
    return new Promise((resolve, reject) => {
      const secure =
        role === 'server'
          ? new tls.TLSSocket(raw, {
              isServer: true,
              secureContext: (host === undefined ? undefined : this.#tlsSetup.contextFor?.(host)) ?? this.#tlsSetup.secureContext,
              SNICallback: this.#tlsSetup.options.SNICallback,
            })
          : // Outgoing: the peer's certificate must name the domain (RFC 6120 §13.7.2, RFC 6125),
            // from the system's trust store; TLS 1.2 at least, as for our own listeners.
            tls.connect({ socket: raw, servername: host, minVersion: 'TLSv1.2', ciphers: this.#tlsSetup.options.ciphers });
      this.#socket = secure;
      const onError = (err: Error) => {
        secure.off('close', onClose);
        secure.destroy();
        reject(err);
      };
      // A peer that hangs up mid-handshake sends no alert: the promise must still settle.
      const onClose = () => {
        secure.off('error', onError);
        reject(new Error('connection closed during the TLS handshake'));
      };
      secure.once('error', onError);
      secure.once('close', onClose);
      secure.once(role === 'server' ? 'secure' : 'secureConnect', () => {
        secure.off('error', onError);
        secure.off('close', onClose);
        resolve();
      });
      this.#attach(secure);
    });
  }

  channelBindingTypes(): ChannelBindingType[] {
    const s = this.#socket;
    if (!(s instanceof tls.TLSSocket) || !s.encrypted) return [];
    // tls-exporter is defined for TLS 1.3, tls-unique only below it (RFC 9266, RFC 5929 §3).
    return s.getProtocol() === 'TLSv1.3' ? ['tls-exporter', 'tls-server-end-point'] : ['tls-server-end-point', 'tls-unique'];
  }

  channelBinding(type: ChannelBindingType): Buffer | undefined {
    const s = this.#socket;
    if (!(s instanceof tls.TLSSocket) || !s.encrypted) return undefined;
    const version = s.getProtocol();
    switch (type) {
      case 'tls-exporter':
        // RFC 9266: defined for TLS 1.3 (TLS 1.2 only with extended master secret, which we can't check);
        // in TLS 1.3 an empty context equals no context (RFC 8446 §7.5).
        return version === 'TLSv1.3' ? s.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0)) : undefined;
      case 'tls-server-end-point':
        return serverEndPoint(s);
      case 'tls-unique':
        // RFC 5929 §3: the first Finished message of the handshake: the client's on a full
        // handshake, ours on a resumed one. RFC 9266 leaves it undefined for TLS 1.3, but OpenSSL
        // (and so Python's ssl, slixmpp, poezio) computes it there the same way; we accept it
        // there without advertising it (see sasl.ts).
        return s.isSessionReused() ? s.getFinished() : s.getPeerFinished();
    }
  }

  end(): void {
    if (!this.#socket.destroyed) this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  onClose(cb: () => void): void {
    this.#closeCbs.push(cb);
  }

  onDrain(cb: () => void): void {
    this.#drainCbs.push(cb);
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }
}

/** Certificate fingerprint -> end-point hash: a handful of certificates, computed once each. */
const endPointCache = new Map<string, Buffer>();

/** RFC 5929 §4.1: hash of our certificate, SHA-256 unless its signature uses a stronger hash. */
function serverEndPoint(s: tls.TLSSocket): Buffer | undefined {
  const cert = s.getCertificate();
  if (!cert || !('raw' in cert) || !cert.raw) return undefined;
  const key = cert.fingerprint256;
  const cached = endPointCache.get(key);
  if (cached) return cached;
  let algo = 'sha256';
  try {
    const x = new X509Certificate(cert.raw) as X509Certificate & { signatureAlgorithm?: string };
    const sig = (x.signatureAlgorithm ?? '').toLowerCase();
    if (sig.includes('sha384')) algo = 'sha384';
    else if (sig.includes('sha512')) algo = 'sha512';
  } catch {
    // keep SHA-256
  }
  const digest = createHash(algo).update(cert.raw).digest();
  if (endPointCache.size > 64) endPointCache.clear();
  endPointCache.set(key, digest);
  return digest;
}

/**
 * Decides at TCP accept whether a peer may connect: false for a blocked address (cut at once),
 * else what the connection carries into its stream (the admission ticket or refusal).
 */
export type AdmitConnection<T> = (address: string | undefined) => T | false;

/**
 * Listens for clients; `direct` selects XEP-0368 direct TLS instead of STARTTLS. Both run on a
 * plain TCP server, so admission (blocks, rates, caps) is decided before any TLS work, and the
 * TLS handshake of a direct connection is timed by its stream like any other step.
 */
export function listenC2s<T>(
  opts: { port: number; address: string; direct: boolean; maxStanzaSize: number },
  tlsSetup: TlsSetup,
  admit: AdmitConnection<T>,
  onConnection: (t: ElementTransport, admission: T) => void,
): Promise<Listener> {
  const open = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const admission = admit(socket.remoteAddress);
    if (admission === false) {
      socket.destroy();
      return;
    }
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    const transport = new TcpTransport(socket, tlsSetup, opts.maxStanzaSize);
    if (opts.direct) transport.startTls().catch(() => transport.destroy());
    onConnection(transport, admission);
  });
  server.maxConnections = 19_000;
  // The server sends <system-shutdown/> first; ending the sockets lets that reach the clients.
  return bindListener(server, opts, open, () => {
    for (const s of open) s.end();
  });
}

/**
 * Opens an outgoing stream connection (server-to-server, RFC 6120 §4.2): plain TCP, ready for the
 * role to send its header and negotiate STARTTLS as the client (startTls(domain, 'client')).
 */
export function connectTcp(opts: { host: string; port: number; maxStanzaSize: number }, tlsSetup: TlsSetup): Promise<ElementTransport> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: opts.host, port: opts.port });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(new TcpTransport(socket, tlsSetup, opts.maxStanzaSize));
    });
  });
}
