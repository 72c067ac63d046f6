// Operator commands by name, as the control socket carries them (one JSON request per line):
// the running server answers them here, and the CLI runs the very same ones on a stopped server.
import type { ControlRequest } from '../transports/control-socket.ts';
import type { OperationsDeps } from './deps.ts';
import { addUser, changePassword, deleteUser, disableUser, disabledUsers, enableUser, listUsers, revokeTokens } from './accounts.ts';
import { createInvite, type CreatedInvite } from './invites.ts';
import { changeBlock, listBlocks, type BlockChange } from './ip-blocks.ts';
import { rotateKey, type KeyRotation } from './keys.ts';
import { serverStatus, type ServerStatus } from './status.ts';
import { switchDebug, type DebugState } from './debug.ts';
import { clearThrottle, listThrottle, type ThrottleListing } from './throttle.ts';
import type { ReloadReport } from './reload.ts';
import { exportUser, importUser, type ExistingAccounts, type UserImportResult } from './portable.ts';
import { parseUserElement } from './pie-reader.ts';
import { purgeModule, type PurgedStore } from './leftover-data.ts';

type Account = { host: string; user: string };

/** Each operation's arguments and result (JSON both). */
export interface Operations {
  adduser: { args: Account & { password: string }; result: null };
  passwd: { args: Account & { password: string }; result: null };
  deluser: { args: Account; result: null };
  'revoke-tokens': { args: Account; result: { revoked: number } };
  'list-users': { args: { host: string }; result: string[] };
  disable: { args: Account; result: null };
  enable: { args: Account; result: null };
  'disabled-users': { args: { host: string }; result: string[] };
  invite: { args: { host: string; expiresMs?: number | undefined }; result: CreatedInvite };
  block: { args: { rule: string }; result: BlockChange };
  unblock: { args: { rule: string }; result: BlockChange };
  blocks: { args: Record<string, never>; result: string[] };
  'rotate-key': { args: KeyRotation; result: { activeDataKey: number } | { rotated: true } };
  status: { args: Record<string, never>; result: ServerStatus };
  debug: { args: { mode: string; for?: string | undefined }; result: DebugState };
  'throttle-list': { args: Record<string, never>; result: ThrottleListing };
  'throttle-clear': { args: { target: string }; result: { cleared: string } };
  reload: { args: Record<string, never>; result: ReloadReport };
  'service-domains': { args: Record<string, never>; result: string[] };
  /** XEP-0227: the account's data as a document. */
  'export-user': { args: Account; result: string };
  /** XEP-0227: one <user/> element (XML text), imported atomically. */
  'import-user': { args: { host: string; xml: string; existing: ExistingAccounts }; result: UserImportResult };
  /** Erases the stores of a module turned off, on the named hosts (else wherever it is off). */
  'purge-module': { args: { module: string; hosts?: string[] | undefined }; result: PurgedStore[] };
}

export type OperationName = keyof Operations;
export type OperationArgs<N extends OperationName> = Operations[N]['args'];
export type OperationResult<N extends OperationName> = Operations[N]['result'];

export async function runOperation<N extends OperationName>(deps: OperationsDeps, name: N, args: OperationArgs<N>): Promise<OperationResult<N>> {
  // One switch over the name; the casts only restate what the Operations table says.
  const a = args as Record<string, unknown>;
  const str = (key: string) => String(a[key] ?? '');
  let result: Operations[OperationName]['result'];
  const op: OperationName = name;
  switch (op) {
    case 'adduser':
      await addUser(deps, str('host'), str('user'), str('password'));
      result = null;
      break;
    case 'passwd':
      await changePassword(deps, str('host'), str('user'), str('password'));
      result = null;
      break;
    case 'deluser':
      await deleteUser(deps, str('host'), str('user'));
      result = null;
      break;
    case 'list-users':
      result = await listUsers(deps, str('host'));
      break;
    case 'disable':
      await disableUser(deps, str('host'), str('user'));
      result = null;
      break;
    case 'enable':
      await enableUser(deps, str('host'), str('user'));
      result = null;
      break;
    case 'disabled-users':
      result = await disabledUsers(deps, str('host'));
      break;
    case 'invite':
      result = await createInvite(deps, str('host'), typeof a['expiresMs'] === 'number' ? a['expiresMs'] : undefined);
      break;
    case 'revoke-tokens':
      result = { revoked: await revokeTokens(deps, str('host'), str('user')) };
      break;
    case 'block':
    case 'unblock':
      result = await changeBlock(deps, op, str('rule'));
      break;
    case 'blocks':
      result = listBlocks(deps);
      break;
    case 'rotate-key':
      result = await rotateKey(deps, a['dataKey'] === true ? { dataKey: true } : { newKey: str('newKey') });
      break;
    case 'status':
      result = serverStatus(deps);
      break;
    case 'debug':
      result = switchDebug(deps, String(a['mode'] ?? 'status'), a['for'] === undefined ? undefined : String(a['for']));
      break;
    case 'throttle-list':
      result = listThrottle(deps);
      break;
    case 'throttle-clear':
      result = clearThrottle(deps, str('target'));
      break;
    case 'reload':
      result = await deps.reload();
      break;
    case 'service-domains':
      result = deps.serviceDomains();
      break;
    case 'export-user':
      result = await exportUser(deps, str('host'), str('user'));
      break;
    case 'import-user': {
      const existing = str('existing');
      result = await importUser(deps, str('host'), parseUserElement(str('xml')), existing === 'overwrite' || existing === 'skip' ? existing : 'refuse');
      break;
    }
    case 'purge-module': {
      const hosts = Array.isArray(a['hosts']) ? a['hosts'].map(String) : [];
      result = await purgeModule(deps, str('module'), hosts);
      break;
    }
  }
  return result as OperationResult<N>;
}

const OPERATION_NAMES: ReadonlySet<string> = new Set<OperationName>([
  'throttle-list', 'throttle-clear',
  'adduser', 'passwd', 'deluser', 'revoke-tokens', 'list-users', 'disable', 'enable', 'disabled-users', 'invite', 'block', 'unblock', 'blocks', 'rotate-key', 'status', 'debug', 'reload', 'service-domains',
  'export-user', 'import-user', 'purge-module',
]);

function isOperation(command: string): command is OperationName {
  return OPERATION_NAMES.has(command);
}

/** A request from the control socket (the CLI of the same installation, over a 0600 socket). */
export function handleControlRequest(deps: OperationsDeps, req: ControlRequest): Promise<unknown> {
  if (!isOperation(req.command)) return Promise.reject(new Error(`unknown control command ${req.command}`));
  return runOperation(deps, req.command, (req.args ?? {}) as never);
}
