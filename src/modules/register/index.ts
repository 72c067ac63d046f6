// XEP-0077 In-Band Registration: accounts made by their users where the operator opens it (with
// a CAPTCHA, XEP-0158, or an invitation, XEP-0401), and for every logged-in user the password
// change and the account's removal. Registration happens before authentication, on the stream.
import { defineModule, type IqRequest, type PreauthStream } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import { el } from '../../core/xml/element.ts';
import { prepLocalpart } from '../../core/jid.ts';
import { StreamError } from '../../core/errors.ts';
import { RegisterError } from './errors.ts';
import { RegistrationError } from '../../core/registration-service.ts';
import { DEFAULT_RESERVED_USERNAMES } from '../../lib/registration-rules.ts';
import { RegistrationLimits } from './limits.ts';
import { CaptchaChallenges } from './captcha-challenges.ts';
import { Registration } from './service.ts';
import { bobData, contentId, NS_BOB, NS_IBR_TOKEN, NS_PARS, NS_REGISTER, NS_REGISTER_FEATURE, readSubmission, registrationForm } from './forms.ts';
import type { PreauthorizedInvite } from './service.ts';

/** Registration requests (sets) one stream may make before it is ended. */
export const MAX_ATTEMPTS_PER_STREAM = 5;
/** Address and range records the rate limits keep at most. */
const MAX_LIMIT_RECORDS = 100_000;

// What the module keeps on a stream between its requests.
const ATTEMPTS = 'register.attempts';
const CHALLENGE = 'register.captcha';
const IMAGE = 'register.captcha-image';
const INVITE = 'register.invite';
const REGISTERED = 'register.done';

const asStanzaError = (err: unknown): unknown => (err instanceof RegistrationError ? new RegisterError(err.condition, err.text, err.type) : err);

export const register = defineModule({
  name: 'register',
  description: 'In-band registration (XEP-0077) when the operator opens it, with a built-in image CAPTCHA or invitations; in-band password change and account removal for logged-in users.',
  stores: {},
  // Closed by default: then it stores and offers nothing new, but answers password changes and removals.
  enabledByDefault: true,
  // The invitations it redeems in mode `invite` (src/core/invite-service.ts).
  after: ['invites'],
  xeps: [
    { number: 77, version: '2.4', status: 'partial', note: 'no registration of extra fields (e-mail, name): only username and password' },
    { number: 158, version: '1.0', status: 'partial', note: 'an image CAPTCHA (ocr) for in-band registration, as PNG (the XEP names JPEG as what clients must render); no other challenge types, no message challenges' },
    { number: 221, version: '1.0', status: 'partial', note: 'the CAPTCHA image, referenced by a cid: URI' },
    { number: 231, version: '1.0', status: 'partial', note: 'the CAPTCHA image only: sent with the registration form, and fetched by cid on the same connection before login' },
    { number: 445, version: '0.2.0', note: 'in invite mode, with the invitations of a module that provides them (e.g. XEP-0401 invitations)' },
  ],
  options: {
    mode: option.enum(['closed', 'invite', 'captcha', 'open'] as const, 'closed', 'Who may create an account in-band: nobody (closed), holders of an invitation (invite, needs the invites module), anyone who solves an image CAPTCHA (captcha), or anyone (open).'),
    captcha_lifetime: option.period('5m', 'How long a CAPTCHA can be answered.', { min: 10_000, max: 3_600_000 }),
    max_captchas: option.integer(10_000, 'CAPTCHAs waiting for an answer at most; the oldest are dropped beyond.', { min: 10, max: 1_000_000 }),
    reserved_usernames: option.list([...DEFAULT_RESERVED_USERNAMES], 'Usernames nobody may register (compared without ".", "-" and "_").'),
    max_username_length: option.integer(32, 'Longest username, in characters.', { min: 1, max: 1023 }),
    min_password_length: option.integer(8, 'Shortest password at registration and password change, in characters.', { min: 1, max: 1024 }),
    max_per_address: option.integer(3, 'Accounts one address (IPv6: one /64) may register per window.', { min: 1 }),
    max_per_range: option.integer(10, 'Accounts one network (IPv4 /24, IPv6 /48) may register per window.', { min: 1 }),
    window: option.period('1h', 'How long a registration counts against its address and network.', { min: 1000 }),
  },
  setup(ctx) {
    const o = ctx.options;
    const rules = { reservedUsernames: o.reserved_usernames, maxUsernameLength: o.max_username_length, minPasswordLength: o.min_password_length };
    const captchas = new CaptchaChallenges(o.captcha_lifetime, o.max_captchas);
    const limits = new RegistrationLimits({ windowMs: o.window, maxPerAddress: o.max_per_address, maxPerRange: o.max_per_range, maxEntries: MAX_LIMIT_RECORDS });
    const registration = new Registration({ mode: o.mode, rules, accounts: () => ctx.accounts, limits, captchas, invites: () => ctx.shared.get('invites'), log: ctx.log });
    ctx.shared.provide('registration', registration);
    if (o.mode === 'invite' && !ctx.shared.get('invites')) ctx.log.warn('registration mode is invite but no module provides invitations (enable the invites module): registration stays closed');

    // XEP-0077 §10 (always: a logged-in user can change the password or remove the account); §8 stream feature.
    ctx.disco.addFeature(NS_REGISTER);
    ctx.preauth.feature(() => (registration.open ? el('register', { xmlns: NS_REGISTER_FEATURE }) : undefined));
    // XEP-0445 §3: registration with an invitation token.
    ctx.preauth.feature(() => (o.mode === 'invite' && registration.open ? el('register', { xmlns: NS_IBR_TOKEN }) : undefined));

    // --- before authentication: registration (XEP-0077 §3.1) ---------------------------------

    const attempt = (stream: PreauthStream): void => {
      const n = ((stream.values.get(ATTEMPTS) as number | undefined) ?? 0) + 1;
      stream.values.set(ATTEMPTS, n);
      if (n > MAX_ATTEMPTS_PER_STREAM) throw new StreamError('policy-violation', 'Too many registration attempts');
    };

    ctx.preauth.iq(NS_REGISTER, async ({ stanza, payload, type, stream }) => {
      if (payload.name !== 'query') throw new RegisterError('bad-request', 'Expected <query/>');
      // §3.1: "If the host does not support in-band registration, it MUST return a <service-unavailable/> error".
      if (!registration.open) throw new RegisterError('service-unavailable', 'This server does not take registrations');
      if (type === 'get') {
        if (o.mode === 'invite') return registrationForm({ invite: { preauthorized: stream.values.has(INVITE) } });
        if (o.mode !== 'captcha') return registrationForm({});
        // A new image replaces the stream's earlier one, which can no longer be answered.
        const earlier = stream.values.get(CHALLENGE) as string | undefined;
        if (earlier) captchas.drop(earlier);
        const { id, png } = captchas.issue();
        stream.values.set(CHALLENGE, id);
        stream.values.set(IMAGE, { cid: contentId(png), png });
        return registrationForm({ captcha: { id, png, from: stanza.attrs['to'] === undefined ? undefined : ctx.host, sid: stanza.attrs['id'] } });
      }
      attempt(stream);
      const s = readSubmission(payload);
      // §3.2: removal needs the 'from' of a logged-in entity.
      if (s.remove) throw new RegisterError('unexpected-request', 'Log in to remove an account', 'cancel');
      // §3.1.1: "MAY return a <not-acceptable/> ... if an entity attempts to register a second identity".
      if (stream.values.get(REGISTERED)) throw new RegisterError('not-acceptable', 'An account was registered on this connection already; log in with it');
      // §3.1: every field asked for, an empty password included, or <not-acceptable/>.
      if (!s.username || !s.password) throw new RegisterError('not-acceptable', 'A username and a password are required');
      let captcha: { id: string; answer: string } | undefined;
      if (o.mode === 'captcha') {
        // The challenge must be the one this stream was shown; another stream's can't be reused.
        const own = stream.values.get(CHALLENGE) as string | undefined;
        // XEP-0158 §3.3: a challenge this stream was not sent is <service-unavailable/>.
        if (s.captcha.challenge !== undefined && s.captcha.challenge !== own) throw new RegisterError('service-unavailable', 'That image was not shown on this connection; ask for a new one', 'cancel');
        captcha = { id: own ?? '', answer: s.captcha.answer ?? '' };
      }
      try {
        const request = { user: s.username, password: s.password, peerAddress: stream.peerAddress, invite: s.token, captcha };
        await registration.register(request, stream.values.get(INVITE) as PreauthorizedInvite | undefined);
      } catch (err) {
        throw asStanzaError(err);
      }
      stream.values.set(REGISTERED, true);
      return undefined;
    });

    // XEP-0231 §3: the image can also be fetched by its cid (the form carries it already).
    ctx.preauth.iq(NS_BOB, ({ payload, type, stream }) => {
      if (type !== 'get' || payload.name !== 'data') throw new RegisterError('bad-request', 'Expected <data/> in an IQ get');
      const image = stream.values.get(IMAGE) as { cid: string; png: Buffer } | undefined;
      if (!image || payload.attrs['cid'] !== image.cid) throw new RegisterError('item-not-found', 'No such data');
      return bobData(image.cid, image.png);
    });

    // XEP-0445 §4: an invited client presents its token before registering; it is checked now
    // (not used up until the registration succeeds) and holds for the rest of the stream.
    ctx.preauth.iq(NS_PARS, async ({ payload, type, stream }) => {
      if (type !== 'set' || payload.name !== 'preauth') throw new RegisterError('bad-request', 'Expected <preauth/> in an IQ set');
      attempt(stream);
      const invites = o.mode === 'invite' ? ctx.shared.get('invites') : undefined;
      if (!invites) throw new RegisterError('service-unavailable', 'This server does not take invitations');
      const token = payload.attrs['token'] ?? '';
      const found = token ? await invites.check(token) : undefined;
      if (!found) throw new RegisterError('item-not-found', 'The provided token is invalid or expired', 'cancel');
      const accepted: PreauthorizedInvite = found.username === undefined ? { token } : { token, username: found.username };
      stream.values.set(INVITE, accepted);
      return undefined;
    });

    // --- after authentication: the account itself (XEP-0077 §3.2, §3.3) -----------------------

    /** Only the account's own user, from one of its sessions here. */
    const ownAccount = ({ from, to, origin }: IqRequest): string => {
      if (!origin || from.domain !== ctx.host || (to.local !== '' && to.local !== from.local)) {
        throw new RegisterError('forbidden', 'Only the account\'s own user can manage it');
      }
      return from.local;
    };

    const get = (req: IqRequest) => {
      const user = ownAccount(req);
      // §3.1: <registered/>, what is on file (never the password) and instructions.
      return el('query', { xmlns: NS_REGISTER }, el('registered'),
        el('instructions', {}, 'You are registered. To change your password, send your username and the new password; to delete your account and everything stored for it, send <remove/>.'),
        el('username', {}, user), el('password'));
    };

    const set = async (req: IqRequest) => {
      const user = ownAccount(req);
      const s = readSubmission(req.payload);
      if (s.remove) {
        if (req.payload.elements.length !== 1) throw new RegisterError('bad-request', '<remove/> must be the only child of <query/>');
        // §3.2: the result first, then the stream ends with <not-authorized/> (the account is gone).
        const result = el('iq', { type: 'result', id: req.stanza.attrs['id'] ?? '', from: req.to.toString(), to: req.from.toString() });
        await ctx.deliver(result, req.origin);
        await ctx.accounts.delete(user, 'This account has been removed');
        return undefined;
      }
      // §3.3: "SHOULD NOT return the original XML sent in IQ error stanzas related to password changes".
      const fail = (err: RegisterError): never => {
        req.payload.children = [];
        throw err;
      };
      // §3.3: username and new password; an empty password leaves the current one in place.
      if (s.username === undefined || s.username === '' || !s.password) fail(new RegisterError('bad-request', 'Both the username and a new password are required'));
      if (!namesUser(s.username ?? '', user)) fail(new RegisterError('bad-request', 'The username is not the one you are logged in as'));
      const weak = registration.checkPassword(s.password ?? '', user);
      if (weak) fail(new RegisterError('not-acceptable', weak));
      await ctx.accounts.setPassword(user, s.password ?? '');
      ctx.log.info('password changed in-band');
      return undefined;
    };

    /** The username field names this account: its localpart, or (as in §3.3's form example) its bare JID. */
    const namesUser = (given: string, user: string): boolean => {
      const [local = '', domain] = given.split('@');
      if (domain !== undefined && domain.toLowerCase() !== ctx.host) return false;
      try {
        return prepLocalpart(local) === user;
      } catch {
        return false;
      }
    };

    for (const target of ['host', 'account'] as const) {
      ctx.iq.get(target, NS_REGISTER, 'query', get);
      ctx.iq.set(target, NS_REGISTER, 'query', set);
    }
  },
});
