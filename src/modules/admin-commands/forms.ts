// What the XEP-0133 commands share: their FORM_TYPE and reading account addresses of this host.
import { tryParseJid } from '../../core/jid.ts';
import { FormError } from '../../lib/data-form.ts';

/** XEP-0133 §4: the FORM_TYPE of every admin command form. */
export const NS_ADMIN = 'http://jabber.org/protocol/admin';

export const adminNode = (command: string): string => `${NS_ADMIN}#${command}`;

export function dependencyMissing(): Error {
  return new Error('admin-commands needs the adhoc module');
}

/** A submitted address as the local part of an account of `host`, or an error for the requester. */
export function localAccount(raw: string, host: string): { user: string } | { problem: string } {
  const jid = tryParseJid(raw.trim());
  if (!jid || !jid.local || jid.resource) return { problem: `${raw} is not an account address (user@${host})` };
  if (jid.domain !== host) return { problem: `${jid.bareString} is not an account of ${host}` };
  return { user: jid.local };
}

/** The one value a required field must have; a missing one is the requester's mistake (bad-payload). */
export function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new FormError(`the field ${name} is required`);
  return value;
}
