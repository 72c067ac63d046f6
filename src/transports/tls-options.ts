// TLS server settings shared by STARTTLS (RFC 6120 §5) and direct TLS (XEP-0368): TLS 1.2+ only
// (RFC 8996), AEAD suites (RFC 9325), and SNI (RFC 6066 §3) to pick each host's certificate.
import { constants } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import { domainToASCII } from 'node:url';
import { DEFAULT_CIPHERS, type ServerConfig } from '../core/config.ts';
import type { HostCertificate } from './certificates.ts';

/** Hybrid post-quantum group first where OpenSSL has it (3.5+), then the classic curves. */
const ECDH_CURVES = pickCurves(['X25519MLKEM768:X25519:P-256:P-384', 'X25519:P-256:P-384']);

function pickCurves(candidates: string[]): string {
  for (const curves of candidates) {
    try {
      createSecureContext({ ecdhCurve: curves });
      return curves;
    } catch {
      // not supported by this OpenSSL build: try the next
    }
  }
  return 'auto';
}

/** The configured list, with the TLS 1.3 suites added if it names none (which would turn 1.3 off). */
function cipherList(ciphers: string): string {
  if (ciphers.split(':').some((c) => c.startsWith('TLS_'))) return ciphers;
  const tls13 = DEFAULT_CIPHERS.split(':').filter((c) => c.startsWith('TLS_'));
  return [...tls13, ciphers].join(':');
}

/** Options for tls.createSecureContext() for one host's certificate. */
export function buildSecureContextOptions(config: ServerConfig, cert: HostCertificate): SecureContextOptions {
  return {
    cert: cert.cert,
    key: cert.key,
    minVersion: config.tls.min_version,
    ciphers: cipherList(config.tls.ciphers),
    honorCipherOrder: true,
    ecdhCurve: ECDH_CURVES,
    // Client-initiated renegotiation only costs the server CPU; XMPP never needs it.
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  };
}

/**
 * Options for tls.createServer() or `new tls.TLSSocket(socket, { isServer: true, ...options })`:
 * the default context is the first host's; SNICallback switches to the named host's context.
 */
export function createTlsServerOptions(config: ServerConfig, certs: Map<string, HostCertificate>): TlsOptions & { contextFor(host: string): SecureContext | undefined } {
  const contexts = new Map<string, SecureContext>();
  let fallback: { options: SecureContextOptions; context: SecureContext } | undefined;
  for (const [host, cert] of certs) {
    const options = buildSecureContextOptions(config, cert);
    const context = createSecureContext(options);
    // Clients send the A-label in SNI (RFC 6066 §3); hosts are kept in Unicode form.
    contexts.set(domainToASCII(host) || host, context);
    fallback ??= { options, context };
  }
  if (!fallback) throw new Error('no certificate for any host');
  const defaultContext = fallback.context;
  return {
    ...fallback.options,
    secureContext: defaultContext,
    // STARTTLS comes after the stream header, which names the host: the certificate for a client
    // that sends no SNI (xmpp.js's STARTTLS does not) is that host's (RFC 6120 §13.7.2.1).
    contextFor: (host) => contexts.get(domainToASCII(host) || host),
    SNICallback(servername, cb) {
      const name = servername.toLowerCase().replace(/\.$/, '');
      // An unknown name still gets a handshake: the stream layer answers <host-unknown/> (RFC 6120 §4.9.3.6).
      cb(null, contexts.get(name) ?? defaultContext);
    },
  };
}
