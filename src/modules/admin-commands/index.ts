// XEP-0133 Service Administration: the admin commands as XEP-0050 commands, for the host's
// admins (security.admins) only, acting through the same account operations as the CLI.
import { defineModule } from '../../core/modules.ts';
import type { SessionInfo } from '../../core/session.ts';
import { dependencyMissing } from './forms.ts';
import { accountCommands } from './account-commands.ts';
import { announceCommand, countCommands } from './service-commands.ts';

export const adminCommands = defineModule({
  name: 'admin-commands',
  description: 'Service administration (XEP-0133) as ad-hoc commands for the admins named in security.admins: add, delete, disable and re-enable accounts, change passwords, end sessions, announce, and count accounts and online users.',
  stores: {},
  enabledByDefault: true,
  xeps: [{
    number: 133,
    version: '1.3.1',
    status: 'partial',
    note: 'add-user, delete-user, disable-user, reenable-user, change-user-password, end-user-session, announce, get-registered-users-num, get-online-users-num; commands that list addresses or read passwords or rosters are left out on purpose',
  }],
  options: {},
  dependencies: ['adhoc'],
  setup(ctx) {
    const adhoc = ctx.shared.get('adhoc');
    if (!adhoc) throw dependencyMissing();
    // The host's bound sessions, for announcements and the online count.
    const online = new Set<SessionInfo>();
    ctx.hooks.on('session/bound', ({ session }) => void (session.host === ctx.host && online.add(session)));
    ctx.hooks.on('session/closed', ({ session }) => void online.delete(session), 'last');
    ctx.onClose(() => online.clear());

    for (const cmd of [...accountCommands(ctx), announceCommand(ctx, online), ...countCommands(ctx, online)]) ctx.onClose(adhoc.add(cmd));
  },
});
