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
