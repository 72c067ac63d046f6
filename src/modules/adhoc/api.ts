// The XEP-0050 command registry other modules use (ctx.shared.get('adhoc')): a command is one
// handler, or stages of data forms the requester fills in turn (next / prev / complete).
import type { Jid } from '../../core/jid.ts';
import type { DataForm, FormValues } from '../../lib/data-form.ts';

export const NS_COMMANDS = 'http://jabber.org/protocol/commands';

/** Who may list and run a command: admins (security.admins), accounts of this host, anyone. */
export type CommandAccess = 'admin' | 'local' | 'any';

/** XEP-0050 §3.4 note types. */
export interface CommandNote {
  type: 'info' | 'warn' | 'error';
  text: string;
}

/** What a completed command returns: notes, and a result form (type 'result') if any. */
export interface CommandResult {
  notes?: CommandNote[];
  form?: DataForm;
}

/** Who runs the command. */
export interface CommandRequest {
  /** The requester's full JID. */
  from: Jid;
  /** True for an admin of this host. */
  admin: boolean;
  /** True for an account of this host. */
  local: boolean;
}

/**
 * What a stage's submit decides: go to the next stage, finish, or show the same stage again with
 * a note (a value the requester can correct). A StanzaError thrown ends the session with it.
 */
export type StageOutcome = { next: true } | { done: CommandResult } | { retry: CommandNote };

/** One form of a multi-stage command; `state` is the session's, shared by its stages. */
export interface CommandStage<S> {
  form(state: S, req: CommandRequest): DataForm | Promise<DataForm>;
  submit(values: FormValues, state: S, req: CommandRequest): StageOutcome | Promise<StageOutcome>;
}

interface CommandBase {
  /** The command node, e.g. 'http://jabber.org/protocol/admin#add-user'. */
  node: string;
  /** Human-readable name, shown in the command list. */
  name: string;
  access: CommandAccess;
}

/** A command that runs at once, without a form. */
export interface SimpleCommand extends CommandBase {
  handler(req: CommandRequest): CommandResult | Promise<CommandResult>;
}

/** A command of one or more forms; the last stage's submit completes it. */
export interface StagedCommand<S> extends CommandBase {
  /** The session's initial state. */
  init(req: CommandRequest): S;
  stages: readonly CommandStage<S>[];
}

export type AdhocCommand<S = unknown> = SimpleCommand | StagedCommand<S>;

export interface AdhocService {
  /** Registers a command on this host; the returned function removes it. One module per node. */
  add<S>(command: AdhocCommand<S>): () => void;
}

declare module '../../core/shared.ts' {
  interface SharedMap {
    adhoc: AdhocService;
  }
}
