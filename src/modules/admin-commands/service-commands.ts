// XEP-0133 §4.23 announce, §4.16 and §4.19 the counts of registered and online users (numbers
// only: the commands that list addresses are not offered).
import type { ModuleContext } from '../../core/modules.ts';
import type { SessionInfo } from '../../core/session.ts';
import { el } from '../../core/xml/element.ts';
import type { AdhocCommand } from '../adhoc/api.ts';
import { NS_ADMIN, adminNode, required } from './forms.ts';

type AdminContext = Pick<ModuleContext<unknown>, 'host' | 'accounts' | 'deliver'>;

/** Longest announcement accepted (characters): it goes to every session of the host. */
const MAX_ANNOUNCEMENT = 10_000;

export function announceCommand(ctx: AdminContext, online: ReadonlySet<SessionInfo>): AdhocCommand<null> {
  return {
    node: adminNode('announce'),
    name: 'Send Announcement to Online Users',
    access: 'admin',
    init: () => null,
    stages: [{
      form: () => ({
        type: 'form',
        formType: NS_ADMIN,
        title: 'Making an Announcement',
        instructions: ['Fill out this form to make an announcement to all active users of this service.'],
        fields: [
          { var: 'subject', type: 'text-single', label: 'Subject' },
          { var: 'announcement', type: 'text-multi', label: 'Announcement', required: true },
        ],
      }),
      async submit(values) {
        const text = values.list('announcement').join('\n');
        required(text === '' ? undefined : text, 'announcement');
        if (text.length > MAX_ANNOUNCEMENT) return { retry: { type: 'error', text: `The announcement is longer than ${MAX_ANNOUNCEMENT} characters` } };
        const subject = values.text('subject');
        let reached = 0;
        // A headline: shown, not stored offline nor kept in histories (RFC 6121 §5.2.2).
        for (const session of [...online]) {
          const message = el('message', { type: 'headline', from: ctx.host, to: session.jid.toString() }, subject !== undefined ? el('subject', {}, subject) : null, el('body', {}, text));
          if (await ctx.deliver(message, session)) reached++;
        }
        return { done: { notes: [{ type: 'info', text: `Announced to ${reached} online session(s)` }] } };
      },
    }],
  };
}

export function countCommands(ctx: AdminContext, online: ReadonlySet<SessionInfo>): AdhocCommand[] {
  const count = (command: string, name: string, field: string, label: string, value: () => Promise<number> | number): AdhocCommand => ({
    node: adminNode(command),
    name,
    access: 'admin',
    async handler() {
      return { form: { type: 'result', formType: NS_ADMIN, fields: [{ var: field, type: 'text-single', label, values: [String(await value())] }] } };
    },
  });
  return [
    count('get-registered-users-num', 'Get Number of Registered Users', 'registeredusersnum', 'The number of registered users', async () => (await ctx.accounts.list()).length),
    count('get-online-users-num', 'Get Number of Online Users', 'onlineusersnum', 'The number of online users', () => new Set([...online].map((s) => s.user)).size),
  ];
}
