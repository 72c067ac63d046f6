// Runs operator commands (src/operations/) where they take effect at once: on the running server
// through its control socket (so sessions end and caches update), or, when it is stopped, on a
// server started without listeners (store and modules, so the modules' clean-up hooks still run).
// Both paths end in the same code: src/operations/control.ts.
import type { ServerConfig } from '../core/config.ts';
import { Server, controlSocketPath } from '../server.ts';
import { controlAvailable, controlRequest } from '../transports/control-socket.ts';
import { DataDirLockedError, lockHolder } from './data-dir-lock.ts';
import { refuseNewDefaultStore } from './default-config.ts';
import { runOperation, type OperationArgs, type OperationName, type OperationResult } from '../operations/control.ts';
import { NoServerError, OperationError } from './errors.ts';

export type RunOperation = <N extends OperationName>(name: N, args: OperationArgs<N>) => Promise<OperationResult<N>>;

export interface OperateOptions {
  /**
   * Set when the command needs a running server: why, said after "no server is running on
   * DATA_DIR" (a NoServerError, exit 69) when none runs.
   */
  needsServer?: string;
  /** Turns a failure reported by the running server into the error the command throws. */
  remoteError?: (message: string) => Error;
}

/** Calls `fn` with a way to run operations; `live` says whether a running server answers them. */
export async function withOperations<T>(cfg: ServerConfig, fn: (run: RunOperation, live: boolean) => Promise<T>, opts: OperateOptions = {}): Promise<T> {
  const socket = controlSocketPath(cfg);
  if (await controlAvailable(socket)) {
    const remoteError = opts.remoteError ?? ((message: string) => new OperationError(message));
    return fn(async (name, args) => {
      const reply = await controlRequest(socket, { command: name, args });
      if (!reply) throw new NoServerError('the server stopped before it answered');
      if (!reply.ok) throw remoteError(reply.error);
      return reply.result as OperationResult<typeof name>;
    }, true);
  }
  const holder = lockHolder(cfg.data_dir);
  if (holder !== undefined) throw new DataDirLockedError(`a server (pid ${holder}) runs on ${cfg.data_dir} but does not answer on ${socket} yet; try again in a moment`);
  if (opts.needsServer !== undefined) throw new NoServerError(`no server is running on ${cfg.data_dir} (${opts.needsServer})`);
  refuseNewDefaultStore(cfg);
  const server = new Server(cfg);
  await server.start({ listen: false });
  try {
    return await fn((name, args) => runOperation(server.operations, name, args), false);
  } finally {
    await server.stop();
  }
}
