// Binding a listener and closing it with its connections: shared by every transport.
import type net from 'node:net';

export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on the address ("::" or "*": every address) and resolves with the bound port. */
export function bindListener(server: net.Server, opts: { port: number; address: string }, open: Set<net.Socket>, beforeClose?: () => void): Promise<Listener> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: opts.port, host: opts.address === '::' || opts.address === '*' ? undefined : opts.address }, () => {
      server.off('error', reject);
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : opts.port;
      resolve({
        port,
        // Stops accepting, lets open connections flush their goodbyes for a moment, then cuts them.
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            beforeClose?.();
            setTimeout(() => {
              for (const s of open) s.destroy();
            }, 500).unref();
          }),
      });
    });
  });
}

/** A listener could not bind: one line naming the listener, address and port, and why. */
export class ListenError extends Error {}

/** Turns a bind failure (EADDRINUSE, EACCES, EADDRNOTAVAIL) into a ListenError naming `what`. */
export function listenError(err: unknown, what: string, address: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'EADDRINUSE' ? 'the port is already in use (another server, or another JabberX?)'
      : code === 'EACCES' ? 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)'
        : code === 'EADDRNOTAVAIL' ? 'the address is not one of this machine\'s'
          : undefined;
  if (why === undefined) return err instanceof Error ? err : new Error(String(err));
  const where = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  return new ListenError(`${what}: cannot listen on ${where}: ${why}`);
}
