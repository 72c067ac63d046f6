// What every self-service page needs: the host's accounts, the optional services of other modules
// (registration, e-mail), the sessions, the password rule and the reads of a request.
import type { AccountsApi } from '../../core/modules.ts';
import type { HttpRouteRequest } from '../../core/http-routes.ts';
import type { EmailService } from '../../core/email-service.ts';
import type { RegistrationService } from '../../core/registration-service.ts';
import { BodyTooLarge, readForm } from '../../transports/http-kit.ts';
import type { Logger } from 'pino';
import type { WebSessions} from './web-sessions.ts';
import { csrfMatches, type WebSession } from './web-sessions.ts';
import { readCookie, sessionCookieName } from './cookies.ts';
import { fromThisOrigin } from './same-origin.ts';
import { plain } from './respond.ts';
import { preparePassword } from '../../lib/saslprep.ts';

/** Passwords longer than this are refused (the form's body limit is larger). */
export const MAX_PASSWORD_LENGTH = 1024;
/** The rule when the register module (which has the service's own rules) is not enabled. */
export const MIN_PASSWORD_LENGTH = 8;
/** Largest form body accepted. */
export const MAX_FORM_BYTES = 8 * 1024;

export interface Site {
  host: string;
  service: string;
  accounts: AccountsApi;
  sessions: WebSessions;
  log: Logger;
  /** The services of other modules, looked up per request (they may load after this one). */
  email(): EmailService | undefined;
  registration(): RegistrationService | undefined;
  /** Origin of the links in mails (from the configuration, else from this request). */
  publicOrigin(r: HttpRouteRequest): string;
}

/** A readable reason a new password can't be used, or undefined. */
export function passwordProblem(site: Site, password: string, confirm: string | undefined): string | undefined {
  if (confirm !== undefined && password !== confirm) return 'The two new passwords differ.';
  if (password.length > MAX_PASSWORD_LENGTH) return `Use at most ${MAX_PASSWORD_LENGTH} characters.`;
  // What the account store would refuse (RFC 8265 OpaqueString), said before anything is used up.
  try {
    preparePassword(password);
  } catch {
    return 'The password contains characters that can\'t be used (such as control characters).';
  }
  const reg = site.registration();
  if (reg) return reg.checkPassword(password);
  return [...password].length < MIN_PASSWORD_LENGTH ? `Use at least ${MIN_PASSWORD_LENGTH} characters.` : undefined;
}

export function passwordHint(site: Site): string {
  return site.registration()?.passwordRules ?? `At least ${MIN_PASSWORD_LENGTH} characters.`;
}

/** The session the request's cookie names, if live. */
export function currentSession(site: Site, r: HttpRouteRequest): WebSession | undefined {
  return site.sessions.get(readCookie(r.req.headers.cookie, sessionCookieName(r.secure)));
}

/**
 * The fields of a POST from this origin, or undefined after answering the refusal: 403 for a
 * cross-site request or (with `session`) a missing or wrong CSRF token, 413 for a large body.
 */
export async function postedForm(r: HttpRouteRequest, session?: WebSession): Promise<Map<string, string> | undefined> {
  if (!fromThisOrigin(r.req, r.secure)) {
    plain(r, 403, 'Forbidden: this form must be sent from its own page');
    return undefined;
  }
  let form: Map<string, string>;
  try {
    form = await readForm(r.req, MAX_FORM_BYTES);
  } catch (err) {
    if (err instanceof BodyTooLarge) {
      plain(r, 413, 'The form is too large', { Connection: 'close' });
      return undefined;
    }
    throw err;
  }
  if (session && !csrfMatches(session, form.get('csrf'))) {
    plain(r, 403, 'Forbidden: the form is out of date; reload the page and try again');
    return undefined;
  }
  return form;
}
