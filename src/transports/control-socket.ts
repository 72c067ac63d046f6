// The operator's control channel: a Unix socket in the data directory (mode 0600), one JSON
// request and one JSON reply per line. The CLI uses it to act on a running server.
import net from 'node:net';
import { chmodSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';

export type ControlRequest = { command: string; args: Record<string, unknown> };
export type ControlReply = { ok: true; result?: unknown } | { ok: false; error: string };
export type ControlHandler = (req: ControlRequest) => Promise<unknown>;

export async function listenControl(path: string, handler: ControlHandler): Promise<{ close(): Promise<void> }> {
  rmSync(path, { force: true });
  const server = net.createServer((socket) => {
    const rl = createInterface({ input: socket });
    rl.on('line', (line) => {
      void (async () => {
        let reply: ControlReply;
        try {
          const req = JSON.parse(line) as ControlRequest;
          reply = { ok: true, result: await handler(req) };
        } catch (e) {
          reply = { ok: false, error: (e as Error).message };
        }
        socket.write(JSON.stringify(reply) + '\n');
      })();
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        rmSync(path, { force: true });
      }),
  };
}

/** Whether a server listens on the control socket (connects and hangs up; sends nothing). */
export function controlAvailable(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    socket.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') resolve(false);
      else reject(e);
    });
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
  });
}

/** Sends one request to a running server; undefined when no server listens there. */
export function controlRequest(path: string, req: ControlRequest, timeoutMs = 30_000): Promise<ControlReply | undefined> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the running server did not answer in time'));
    }, timeoutMs);
    socket.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') resolve(undefined);
      else reject(e);
    });
    socket.once('connect', () => {
      socket.write(JSON.stringify(req) + '\n');
      const rl = createInterface({ input: socket });
      rl.once('line', (line) => {
        clearTimeout(timer);
        socket.end();
        resolve(JSON.parse(line) as ControlReply);
      });
    });
  });
}
