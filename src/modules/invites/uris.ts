// XEP-0401 §5 invite URIs (RFC 5122 xmpp: URIs with the XEP-0379 'preauth' parameter).
import { domainToASCII } from 'node:url';

/** RFC 5122 §2.2: the JID's localpart percent-encoded, the domain in its ASCII form. */
function jidPart(local: string | undefined, domain: string): string {
  return (local === undefined ? '' : `${encodeURIComponent(local)}@`) + domainToASCII(domain);
}

/** `xmpp:host?register;preauth=T`: creates an account on the host. */
export function accountInviteUri(host: string, token: string): string {
  return `xmpp:${jidPart(undefined, host)}?register;preauth=${token}`;
}

/** `xmpp:user@host?roster;preauth=T`, with `ibr=y` when it may also create the invitee's account. */
export function contactInviteUri(inviter: string, host: string, token: string, createsAccount: boolean): string {
  return `xmpp:${jidPart(inviter, host)}?roster;preauth=${token}${createsAccount ? ';ibr=y' : ''}`;
}
