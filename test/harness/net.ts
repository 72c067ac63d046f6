// Loopback helpers shared by tests: a port to hand to a process, and which certificate a new TLS
// connection is served.
import net from 'node:net';
import tls from 'node:tls';

/** A loopback port free right now (for a process that binds it next). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * The SHA-256 fingerprint of the certificate a new TLS connection to `port` is served, verified
 * against the test CA for `servername` (none: no SNI and no name check).
 */
export function servedFingerprint(port: number, servername: string | undefined = 'localhost'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ...(servername ? { servername } : { checkServerIdentity: () => undefined }) }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.destroy();
    });
    s.once('error', reject);
  });
}
