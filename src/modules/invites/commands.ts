// XEP-0401 §5.1 ad-hoc commands: urn:xmpp:invite#invite (a user's contact invite) and
// urn:xmpp:invite#create-account (an admin's account invite). Both answer with the invite's URI,
// landing page and expiry in a result form.
import { StanzaError } from '../../core/errors.ts';
import { prepLocalpart } from '../../core/jid.ts';
import type { DataForm } from '../../lib/data-form.ts';
import type { AdhocCommand, CommandResult } from '../adhoc/api.ts';
import type { CreatedInvite } from './api.ts';

export const NODE_INVITE = 'urn:xmpp:invite#invite';
export const NODE_CREATE_ACCOUNT = 'urn:xmpp:invite#create-account';

export interface InviteCommandDeps {
  host: string;
  usersCanInvite: boolean;
  maxPerUser: number;
  lifetime: number;
  count(owner: string): Promise<number>;
  create(owner: string, kind: 'account' | 'contact', lifetimeMs: number, username?: string): Promise<CreatedInvite>;
}

function result(invite: CreatedInvite): CommandResult {
  const form: DataForm = {
    type: 'result',
    title: 'Your invite has been created',
    fields: [
      { var: 'uri', type: 'text-single', label: 'Invite URI', values: [invite.uri] },
      ...(invite.page ? [{ var: 'landing-url', type: 'text-single' as const, label: 'Invite web page', values: [invite.page] }] : []),
      { var: 'expire', type: 'text-single', label: 'Invite valid until', values: [invite.expires] },
    ],
  };
  return { form, notes: [{ type: 'info', text: `Share this invite: ${invite.page ?? invite.uri}` }] };
}

export function inviteCommands(d: InviteCommandDeps): AdhocCommand[] {
  const withinLimit = async (owner: string): Promise<void> => {
    if ((await d.count(owner)) >= d.maxPerUser) throw new StanzaError('resource-constraint', `You have ${d.maxPerUser} invites out already; wait until some are used or expire`, 'wait');
  };
  const commands: AdhocCommand[] = [];
  if (d.usersCanInvite) {
    commands.push({
      node: NODE_INVITE,
      name: 'Invite someone to chat with you',
      access: 'local',
      async handler(req) {
        await withinLimit(req.from.local);
        return result(await d.create(req.from.local, 'contact', d.lifetime));
      },
    });
  }
  commands.push({
    node: NODE_CREATE_ACCOUNT,
    name: 'Create an account invite',
    access: 'admin',
    init: () => null,
    stages: [{
      form: () => ({
        type: 'form',
        title: 'Create an account invite',
        instructions: ['The invite creates one account. Leave the name empty to let the invitee choose it.'],
        fields: [{ var: 'username', type: 'text-single', label: `Account name reserved for the invitee (the part before @${d.host})` }],
      }),
      async submit(values, _state, req) {
        let username = values.text('username')?.trim();
        if (username !== undefined) {
          try {
            username = prepLocalpart(username);
          } catch {
            return { retry: { type: 'error', text: `${username} can't be an account name` } };
          }
        }
        await withinLimit(req.from.local);
        return { done: result(await d.create(req.from.local, 'account', d.lifetime, username || undefined)) };
      },
    }],
  });
  return commands;
}
