// XEP-0133 §4.1-4.7 account commands: add, delete, disable, re-enable, change password, end
// sessions. Each acts through ctx.accounts, with the same effects as the operator's CLI.
import type { ModuleContext } from '../../core/modules.ts';
import { AccountError } from '../../core/accounts.ts';
import type { AdhocCommand, CommandNote, StageOutcome } from '../adhoc/api.ts';
import type { DataForm, FormValues } from '../../lib/data-form.ts';
import { NS_ADMIN, adminNode, localAccount, required } from './forms.ts';

type AdminContext = Pick<ModuleContext<unknown>, 'host' | 'accounts' | 'log'>;

/** The most addresses one command takes at once, so one request can't run for minutes. */
const MAX_ACCOUNTS_PER_COMMAND = 100;

const error = (text: string): CommandNote => ({ type: 'error', text });

/** A one-form command on several accounts (accountjids, jid-multi): each is done or reported. */
function onAccounts(ctx: AdminContext, command: string, name: string, label: string, act: (user: string) => Promise<void>, done: string): AdhocCommand<null> {
  const form: DataForm = {
    type: 'form',
    formType: NS_ADMIN,
    title: name,
    fields: [{ var: 'accountjids', type: 'jid-multi', label, required: true }],
  };
  return {
    node: adminNode(command),
    name,
    access: 'admin',
    init: () => null,
    stages: [{
      form: () => form,
      async submit(values: FormValues): Promise<StageOutcome> {
        const jids = values.list('accountjids').filter((j) => j.trim() !== '');
        if (jids.length === 0) return { retry: error('Give at least one address') };
        if (jids.length > MAX_ACCOUNTS_PER_COMMAND) return { retry: error(`Give at most ${MAX_ACCOUNTS_PER_COMMAND} addresses at once`) };
        const notes: CommandNote[] = [];
        let ok = 0;
        for (const raw of jids) {
          const account = localAccount(raw, ctx.host);
          if ('problem' in account) {
            notes.push(error(account.problem));
            continue;
          }
          try {
            if (!(await ctx.accounts.exists(account.user))) throw new AccountError(`${account.user}@${ctx.host} does not exist`);
            await act(account.user);
            ok++;
          } catch (e) {
            if (!(e instanceof AccountError)) throw e;
            notes.push(error(e.message));
          }
        }
        notes.unshift({ type: 'info', text: `${done}: ${ok} of ${jids.length}` });
        return { done: { notes } };
      },
    }],
  };
}

interface PasswordState {
  user?: string;
}

function addUser(ctx: AdminContext): AdhocCommand<PasswordState> {
  return {
    node: adminNode('add-user'),
    name: 'Add User',
    access: 'admin',
    init: () => ({}),
    stages: [{
      form: () => ({
        type: 'form',
        formType: NS_ADMIN,
        title: 'Adding a User',
        instructions: ['Fill out this form to add a user.'],
        fields: [
          { var: 'accountjid', type: 'jid-single', label: 'The Jabber ID for the account to be added', required: true },
          { var: 'password', type: 'text-private', label: 'The password for this account', required: true },
          { var: 'password-verify', type: 'text-private', label: 'Retype password', required: true },
        ],
      }),
      async submit(values) {
        const account = localAccount(required(values.text('accountjid'), 'accountjid'), ctx.host);
        if ('problem' in account) return { retry: error(account.problem) };
        const password = required(values.text('password'), 'password');
        if (values.has('password-verify') && values.text('password-verify') !== password) return { retry: error('The passwords do not match') };
        try {
          await ctx.accounts.create(account.user, password);
        } catch (e) {
          if (e instanceof AccountError) return { retry: error(e.message) };
          throw e;
        }
        return { done: { notes: [{ type: 'info', text: `Created ${account.user}@${ctx.host}` }] } };
      },
    }],
  };
}

function changePassword(ctx: AdminContext): AdhocCommand<PasswordState> {
  return {
    node: adminNode('change-user-password'),
    name: 'Change User Password',
    access: 'admin',
    init: () => ({}),
    stages: [{
      form: () => ({
        type: 'form',
        formType: NS_ADMIN,
        title: 'Changing a User Password',
        instructions: ['Fill out this form to change a user\'s password.'],
        fields: [
          { var: 'accountjid', type: 'jid-single', label: 'The Jabber ID for this account', required: true },
          { var: 'password', type: 'text-private', label: 'The password for this account', required: true },
        ],
      }),
      async submit(values) {
        const account = localAccount(required(values.text('accountjid'), 'accountjid'), ctx.host);
        if ('problem' in account) return { retry: error(account.problem) };
        try {
          await ctx.accounts.setPassword(account.user, required(values.text('password'), 'password'));
        } catch (e) {
          if (e instanceof AccountError) return { retry: error(e.message) };
          throw e;
        }
        return { done: { notes: [{ type: 'info', text: `Changed the password of ${account.user}@${ctx.host}` }] } };
      },
    }],
  };
}

export function accountCommands(ctx: AdminContext): AdhocCommand<never>[] {
  const list: AdhocCommand<never>[] = [
    addUser(ctx),
    onAccounts(ctx, 'delete-user', 'Delete User', 'The Jabber ID(s) to delete', (u) => ctx.accounts.delete(u, 'This account has been deleted by an administrator'), 'Deleted'),
    onAccounts(ctx, 'disable-user', 'Disable User', 'The Jabber ID(s) to disable', (u) => ctx.accounts.setDisabled(u, true), 'Disabled'),
    onAccounts(ctx, 'reenable-user', 'Re-Enable User', 'The Jabber ID(s) to re-enable', (u) => ctx.accounts.setDisabled(u, false), 'Re-enabled'),
    onAccounts(ctx, 'end-user-session', 'End User Session', 'The Jabber ID(s) for which to end sessions', async (u) => ctx.accounts.endSessions(u, 'An administrator ended this session'), 'Ended the sessions of'),
    changePassword(ctx),
  ] as AdhocCommand<never>[];
  return list;
}
