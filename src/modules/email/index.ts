// An optional e-mail address per account, used only to reset a forgotten password: the address is
// stored sealed, found through a keyed-hash index, deleted with the account; reset links are
// single-use, expire, live in memory only and go out through the operator's SMTP server.
import { defineModule } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import { Accounts } from '../../core/accounts.ts';
import { addressKey } from '../../core/address-key.ts';
import type { EmailService } from '../../core/email-service.ts';
import { AddressBook, MAX_ACCOUNTS_PER_ADDRESS, type EmailRecord } from './address-book.ts';
import { checkEmailAddress } from './email-syntax.ts';
import { Mailer, MailError } from './mailer.ts';
import { ResetTokens } from './reset-tokens.ts';
import { RequestLimits } from './request-limits.ts';
import { resetMail } from './reset-mail.ts';

const HOUR = 3_600_000;

/** The account a reset request names as a user name or as user@host on this host, if it is one. */
function accountNamed(who: string, host: string): string | undefined {
  const at = who.lastIndexOf('@');
  const local = at < 0 ? who : who.slice(at + 1).toLowerCase() === host ? who.slice(0, at) : undefined;
  if (local === undefined || local === '') return undefined;
  try {
    return Accounts.prepUser(local);
  } catch {
    return undefined;
  }
}

export const email = defineModule({
  name: 'email',
  description: 'Lets a user keep an e-mail address, used only to send a link that resets a forgotten password (through the web pages of `web-account`).',
  stores: {
    email: { kind: 'keyval', what: 'E-mail address', detail: 'only if you give one, and only to send you a link to reset your password if you forget it (without one, a forgotten password can\'t be reset); deleted when you remove it or delete your account' },
    email_index: { kind: 'keyval', partOf: 'email' },
    email_owner: { kind: 'keyval', partOf: 'email' },
    email_key: { kind: 'keyval', partOf: 'email' },
  },
  enabledByDefault: false,
  options: {
    smtp_host: option.string('localhost', 'the SMTP server that sends the password reset mails'),
    smtp_port: option.integer(587, 'its port (587 for submission with STARTTLS, 465 for TLS from the first byte, 25 for a relay)', { min: 1, max: 65535 }),
    smtp_tls: option.enum(['starttls', 'tls', 'none'] as const, 'starttls', '`starttls`: the connection must be upgraded with STARTTLS; `tls`: TLS from the first byte; `none`: no TLS (only for a relay on the same machine)'),
    smtp_user: option.string('', 'user name for SMTP authentication (empty: none)'),
    smtp_password: option.string('', 'password for SMTP authentication'),
    from: option.string('', 'the From address of the mails (empty: noreply@ the host)'),
    reset_link_lifetime: option.period('1h', 'how long a password reset link works; links live in memory only, so a restart invalidates them', { min: 60_000, max: 24 * HOUR }),
    reset_requests_per_hour: option.integer(3, 'reset mails per hour at most, per account, per e-mail address and per client address (IPv6: per /64), counted in memory only', { min: 1, max: 100 }),
  },
  setup(ctx) {
    const o = ctx.options;
    const book = new AddressBook({
      addresses: ctx.store.keyval<EmailRecord>('email'),
      index: ctx.store.keyval<string[]>('email_index'),
      owners: ctx.store.keyval<string>('email_owner'),
      key: ctx.store.keyval<string>('email_key'),
    }, ctx.host);
    const tokens = new ResetTokens(o.reset_link_lifetime);
    const limits = new RequestLimits(o.reset_requests_per_hour, HOUR);
    const mailer = new Mailer({ host: o.smtp_host, port: o.smtp_port, tls: o.smtp_tls, user: o.smtp_user, password: o.smtp_password, from: o.from || `noreply@${ctx.host}` });
    ctx.onClose(() => mailer.close());
    ctx.every(10 * 60_000, () => {
      tokens.sweep();
      limits.sweep();
    });
    ctx.hooks.on('user/deleted', async ({ user }) => {
      tokens.forget(user);
      await book.remove(user);
    });

    /** Sends the reset link of one account, if its limits allow; never throws (the page answers the same either way). */
    const sendLink = async (user: string, address: string, peer: string | undefined, link: (token: string) => string) => {
      if (!limits.allow([`account:${user}`, `address:${await book.addressKey(address)}`, `peer:${addressKey(peer)}`])) {
        ctx.log.info('password reset mail not sent: too many requests');
        return;
      }
      const token = tokens.issue(user);
      try {
        await mailer.send(resetMail({ to: address, jid: `${user}@${ctx.host}`, link: link(token), lifetimeMs: o.reset_link_lifetime }));
        ctx.log.info('password reset mail sent');
      } catch (err) {
        tokens.forget(user);
        ctx.log.warn({ code: err instanceof MailError ? err.code : 'unknown' }, 'password reset mail could not be sent');
      }
    };

    const service: EmailService = {
      get: (user) => book.get(user),
      async set(user, raw) {
        const checked = checkEmailAddress(raw);
        if ('error' in checked) return checked.error;
        if (!(await book.set(user, checked.address))) return `This e-mail address is already on file for ${MAX_ACCOUNTS_PER_ADDRESS} accounts.`;
        return undefined;
      },
      remove: (user) => book.remove(user),
      requestReset(who, peer, link) {
        const run = async () => {
          const wanted = who.trim();
          const targets = new Map<string, string>();
          const named = accountNamed(wanted, ctx.host);
          const own = named === undefined ? undefined : await book.get(named);
          if (named !== undefined && own !== undefined) targets.set(named, own);
          if (wanted.includes('@') && !('error' in checkEmailAddress(wanted))) for (const t of await book.find(wanted)) targets.set(t.user, t.address);
          for (const [user, address] of targets) await sendLink(user, address, peer, link);
        };
        // Answered before any lookup, so the timing of the page tells nothing either.
        run().catch((err: unknown) => ctx.log.error({ err: err instanceof Error ? err.name : 'error' }, 'password reset request failed'));
      },
      peekReset: (token) => tokens.peek(token),
      redeemReset: (token) => tokens.redeem(token),
      resetLifetimeMs: o.reset_link_lifetime,
    };
    ctx.shared.provide('email', service);
  },
});
