// `jabberx debug on [--for 1h] | off | status`: verbose logging into its own file, deleted when
// switched off or when the time limit ends.
import { parsePeriod } from '../core/options.ts';
import type { OperationsDeps } from './deps.ts';

export interface DebugState {
  enabled: boolean;
  /** ISO 8601 time debug logging ends by itself, if a limit was given. */
  until?: string;
  file: string;
}

export function switchDebug(deps: OperationsDeps, mode: string, forText: string | undefined): DebugState {
  const { debugLog, log } = deps;
  if (mode === 'on') {
    const ms = forText === undefined ? undefined : parsePeriod(forText);
    debugLog.on(ms);
    log.info({ forMs: ms }, 'debug logging on');
  } else if (mode === 'off') {
    debugLog.off();
    log.info('debug logging off; debug log deleted');
  } else if (mode !== 'status') {
    throw new Error(`debug takes on, off or status, not ${mode}`);
  }
  const until = debugLog.until;
  return { enabled: debugLog.enabled, ...(until ? { until: new Date(until).toISOString() } : {}), file: debugLog.path };
}
