// The rules for new accounts and new passwords, shared by in-band registration (XEP-0077), the
// password change and the web pages: reserved and over-long names, short and common passwords.
import { readFileSync } from 'node:fs';
import { Accounts } from '../core/accounts.ts';
import { preparePassword } from './saslprep.ts';

export interface AccountRules {
  /** Localparts nobody may register (compared without '.', '-' and '_'). */
  reservedUsernames: readonly string[];
  maxUsernameLength: number;
  minPasswordLength: number;
}

/** Names that look official (RFC 2142 role mailboxes, service and staff names). */
export const DEFAULT_RESERVED_USERNAMES: readonly string[] = [
  'abuse', 'admin', 'administrator', 'hostmaster', 'info', 'jabber', 'mail', 'mailer-daemon',
  'noc', 'noreply', 'no-reply', 'operator', 'postmaster', 'root', 'security', 'staff', 'support',
  'sysadmin', 'system', 'webmaster', 'www', 'xmpp', 'help', 'moderator', 'owner', 'server',
];

/** Longest password accepted: bounds the work of deriving its SCRAM keys. */
export const MAX_PASSWORD_LENGTH = 1024;

const COMMON = new Set(
  readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#')),
);

const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', '$': 's', '!': 'i' };

/** On the list, also with digits or symbols appended, or letters written as digits (P@ssw0rd2024!). */
export function isCommonPassword(password: string): boolean {
  const lower = password.toLowerCase();
  const stripped = lower.replace(/[\d\W_]+$/u, '');
  const unleet = [...lower].map((c) => LEET[c] ?? c).join('');
  return [lower, stripped, unleet, unleet.replace(/[\d\W_]+$/u, '')].some((p) => p !== '' && COMMON.has(p));
}

const squash = (name: string) => name.replace(/[._-]/g, '');

/** The username as stored (RFC 7622 localpart), or a reason it can't be registered. */
export function checkUsername(raw: string, rules: AccountRules): { user: string } | { reason: string } {
  if (raw.trim() === '') return { reason: 'A username is required' };
  let user: string;
  try {
    user = Accounts.prepUser(raw);
  } catch {
    return { reason: 'That username contains characters an address cannot have (spaces, @, /, quotes and the like)' };
  }
  if ([...user].length > rules.maxUsernameLength) return { reason: `The username is longer than ${rules.maxUsernameLength} characters` };
  const reserved = new Set(rules.reservedUsernames.map((r) => squash(r.toLowerCase())));
  if (reserved.has(squash(user))) return { reason: 'That username is reserved' };
  return { user };
}

/** undefined when the password is acceptable, else a reason a person can act on. */
export function checkPassword(password: string, rules: AccountRules, user?: string): string | undefined {
  const length = [...password].length;
  if (length === 0) return 'A password is required';
  if (length < rules.minPasswordLength) return `The password must have at least ${rules.minPasswordLength} characters`;
  if (length > MAX_PASSWORD_LENGTH) return `The password must have at most ${MAX_PASSWORD_LENGTH} characters`;
  try {
    // What the account store will do with it (SASLprep, RFC 4013): refused here with a reason.
    if (preparePassword(password) === '') return 'A password is required';
  } catch {
    return 'The password contains characters that cannot be used (control or unassigned characters)';
  }
  if (new Set(password).size === 1) return 'The password must not repeat one character';
  if (user !== undefined && password.toLowerCase().includes(user.toLowerCase())) return 'The password must not contain the username';
  if (isCommonPassword(password)) return 'That password is among the most common ones; choose another';
  return undefined;
}
