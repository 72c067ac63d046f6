// `jabberx status`: counts of the running server, never who is connected or from where.
import { droppedLogLines } from '../core/logger.ts';
import { VERSION } from '../version.ts';
import type { OperationsDeps } from './deps.ts';

export interface ServerStatus {
  version: string;
  uptimeSeconds: number;
  sessions: number;
  connections: number;
  unauthenticated: number;
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
  /** Damaged stored values skipped since start. */
  quarantined: number;
  logLinesDropped: number;
  hosts: string[];
}

export function serverStatus(deps: OperationsDeps): ServerStatus {
  const m = process.memoryUsage();
  return {
    version: VERSION,
    uptimeSeconds: Math.round(process.uptime()),
    sessions: deps.sessionCount(),
    connections: [...deps.connections()].length,
    unauthenticated: deps.unauthenticated(),
    memory: { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers },
    quarantined: deps.storage.quarantined(),
    logLinesDropped: droppedLogLines(),
    hosts: deps.hosts(),
  };
}
