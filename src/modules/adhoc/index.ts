// XEP-0050 Ad-Hoc Commands: the host lists the commands a requester may run (disco#items on the
// commands node) and runs them, single-step or through stages of data forms, in bounded sessions.
// Other modules add commands through the shared `adhoc` service (./api.ts).
import { defineModule } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { StanzaError, forbidden, itemNotFound } from '../../core/errors.ts';
import type { Jid } from '../../core/jid.ts';
import { NS_DATA, buildForm, findForm, parseForm, FormError, type FormValues } from '../../lib/data-form.ts';
import { NS_COMMANDS, type AdhocCommand, type CommandNote, type CommandRequest, type CommandResult, type StagedCommand } from './api.ts';
import { CommandSessions, type CommandSession } from './sessions.ts';

const ACTIONS: ReadonlySet<string> = new Set(['execute', 'next', 'prev', 'complete', 'cancel']);

type AppCondition = 'malformed-action' | 'bad-action' | 'bad-payload' | 'bad-sessionid' | 'session-expired';

/** §6: the general condition with the commands namespace's specific one. */
function commandError(app: AppCondition, text: string): StanzaError {
  const condition = app === 'session-expired' ? 'not-allowed' : 'bad-request';
  return new StanzaError(condition, text, undefined, el(app, { xmlns: NS_COMMANDS }));
}

function isStaged(cmd: AdhocCommand): cmd is StagedCommand<unknown> {
  return 'stages' in cmd;
}

export const adhoc = defineModule({
  name: 'adhoc',
  description: 'Ad-hoc commands (XEP-0050): lists and runs the commands other modules offer (e.g. the XEP-0133 admin commands), each only to those allowed to run it.',
  stores: {},
  enabledByDefault: true,
  xeps: [{ number: 50, version: '1.3.0' }],
  options: {
    max_sessions: option.integer(1000, 'Most multi-step command sessions open at once on the host; beyond that, new ones are refused until some end.', { min: 1 }),
    max_sessions_per_user: option.integer(10, 'Most command sessions one account keeps open; a new one ends its oldest.', { min: 1 }),
    session_timeout: option.period('10m', 'A command session left this long without a step expires (its next step is answered <session-expired/>).', { min: 1000 }),
  },
  setup(ctx) {
    const commands = new Map<string, AdhocCommand>();
    const sessions = new CommandSessions({ maxTotal: ctx.options.max_sessions, maxPerAccount: ctx.options.max_sessions_per_user, timeoutMs: ctx.options.session_timeout });
    ctx.onClose(() => sessions.clear());
    ctx.every(Math.min(60_000, ctx.options.session_timeout), () => sessions.sweep());

    const requestOf = (from: Jid): CommandRequest => ({
      from,
      admin: ctx.isAdmin(from.bare()),
      local: from.domain === ctx.host && from.local !== '',
    });
    const allowed = (cmd: AdhocCommand, req: CommandRequest): boolean =>
      cmd.access === 'any' || (cmd.access === 'local' && req.local) || (cmd.access === 'admin' && req.admin);

    ctx.disco.addFeature(NS_COMMANDS);
    // §2.2: the commands node lists what this requester may run.
    ctx.disco.addNode(NS_COMMANDS, {
      info: () => ({ identities: [{ category: 'automation', type: 'command-list', name: 'Commands' }], features: [NS_COMMANDS] }),
      items: (from) => {
        const req = requestOf(from);
        return [...commands.values()].filter((c) => allowed(c, req)).map((c) => ({ jid: ctx.host, node: c.node, name: c.name }));
      },
    });
    const commandInfo = (node: string) => (from: Jid) => {
      const cmd = commands.get(node);
      if (!cmd) throw itemNotFound('No such command');
      if (!allowed(cmd, requestOf(from))) throw forbidden('You may not run this command');
      // §2.3: a command node's identity and features.
      return { identities: [{ category: 'automation', type: 'command-node', name: cmd.name }], features: [NS_COMMANDS, NS_DATA] };
    };
    // A command's disco node stays served once added; a removed command answers item-not-found.
    const served = new Set<string>();
    ctx.shared.provide('adhoc', {
      add(command) {
        if (commands.has(command.node)) throw new Error(`ad-hoc command ${command.node} is already registered`);
        if (isStaged(command) && command.stages.length === 0) throw new Error(`ad-hoc command ${command.node} has no stages`);
        commands.set(command.node, command as AdhocCommand);
        if (!served.has(command.node)) {
          served.add(command.node);
          ctx.disco.addNode(command.node, { info: commandInfo(command.node) });
        }
        return () => void commands.delete(command.node);
      },
    });

    const reply = (node: string, sessionid: string, status: 'executing' | 'completed' | 'canceled', parts: { actions?: Element; notes?: CommandNote[]; form?: Element }): Element =>
      el(
        'command',
        { xmlns: NS_COMMANDS, node, sessionid, status },
        parts.actions,
        ...(parts.notes ?? []).map((n) => el('note', { type: n.type }, n.text)),
        parts.form,
      );

    const completed = (node: string, sessionid: string, result: CommandResult): Element =>
      reply(node, sessionid, 'completed', { notes: result.notes, form: result.form ? buildForm(result.form) : undefined });

    /** The stage's form with the actions it allows (§3.4): next on all but the last, complete on it, prev after the first. */
    const stageReply = async (cmd: StagedCommand<unknown>, s: CommandSession, req: CommandRequest, notes?: CommandNote[]): Promise<Element> => {
      const stage = cmd.stages[s.stage];
      if (!stage) throw new StanzaError('internal-server-error');
      const last = s.stage === cmd.stages.length - 1;
      const actions = el('actions', { execute: last ? 'complete' : 'next' }, s.stage > 0 ? el('prev') : null, last ? el('complete') : el('next'));
      return reply(cmd.node, s.id, 'executing', { actions, notes, form: buildForm(await stage.form(s.state, req)) });
    };

    const submitted = (payload: Element): FormValues | 'cancel' => {
      const x = findForm(payload);
      if (!x) throw commandError('bad-payload', 'This step needs the submitted form');
      try {
        const values = parseForm(x);
        if (values.type === 'cancel') return 'cancel';
        if (values.type !== 'submit') throw new FormError('expected a form of type submit');
        return values;
      } catch (e) {
        if (e instanceof FormError) throw commandError('bad-payload', e.message);
        throw e;
      }
    };

    const step = async (cmd: StagedCommand<unknown>, s: CommandSession, action: string, payload: Element, req: CommandRequest): Promise<Element> => {
      const last = s.stage === cmd.stages.length - 1;
      if (action === 'execute') action = last ? 'complete' : 'next';
      if (action === 'cancel') {
        sessions.end(s.id);
        return reply(cmd.node, s.id, 'canceled', {});
      }
      if (action === 'prev') {
        if (s.stage === 0) throw commandError('bad-action', 'This is the first step');
        s.stage--;
        sessions.touch(s);
        return stageReply(cmd, s, req);
      }
      if ((action === 'next' && last) || (action === 'complete' && !last)) {
        throw commandError('bad-action', last ? 'This is the last step: complete it' : 'There are more steps: use next');
      }
      const values = submitted(payload);
      if (values === 'cancel') {
        sessions.end(s.id);
        return reply(cmd.node, s.id, 'canceled', {});
      }
      const stage = cmd.stages[s.stage];
      if (!stage) throw new StanzaError('internal-server-error');
      let outcome;
      try {
        outcome = await stage.submit(values, s.state, req);
      } catch (e) {
        // A value the form can't take: the session stays, the requester may correct it.
        if (e instanceof FormError) throw commandError('bad-payload', e.message);
        sessions.end(s.id);
        throw e;
      }
      sessions.touch(s);
      if ('retry' in outcome) return stageReply(cmd, s, req, [outcome.retry]);
      if ('next' in outcome && !last) {
        s.stage++;
        return stageReply(cmd, s, req);
      }
      sessions.end(s.id);
      return completed(cmd.node, s.id, 'done' in outcome ? outcome.done : {});
    };

    ctx.iq.set('host', NS_COMMANDS, 'command', async ({ payload, from }) => {
      const node = payload.attrs['node'];
      if (!node) throw new StanzaError('bad-request', 'The command has no node');
      const cmd = commands.get(node);
      if (!cmd) throw itemNotFound('No such command');
      const req = requestOf(from);
      if (!allowed(cmd, req)) throw forbidden('You may not run this command');
      const action = payload.attrs['action'] ?? 'execute';
      if (!ACTIONS.has(action)) throw commandError('malformed-action', `Unknown action ${action}`);
      const sessionid = payload.attrs['sessionid'];

      if (sessionid === undefined) {
        if (action !== 'execute') throw commandError('bad-sessionid', `The ${action} action needs a session`);
        if (!isStaged(cmd)) return completed(node, `${node}:${Date.now().toString(36)}`, await cmd.handler(req));
        const s = sessions.create(from, node, cmd.init(req));
        if (!s) throw new StanzaError('resource-constraint', 'Too many command sessions are open; try again later', 'wait');
        return stageReply(cmd, s, req);
      }
      const found = sessions.find(sessionid);
      if (found === 'expired') throw commandError('session-expired', 'The command session has expired');
      if (!found || found.owner !== from.toString() || found.node !== node || !isStaged(cmd)) throw commandError('bad-sessionid', 'No such command session');
      return step(cmd, found, action, payload, req);
    });
  },
});
