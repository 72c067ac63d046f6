// The XML of XEP-0077 registration: the form offered (with the XEP-0158 CAPTCHA and its XEP-0231
// image when asked for), and what a submission says, from a XEP-0004 form or the legacy fields.
import { createHash } from 'node:crypto';
import { el, type Element } from '../../core/xml/element.ts';
import { CAPTCHA_HEIGHT, CAPTCHA_WIDTH } from '../../lib/captcha.ts';

export const NS_REGISTER = 'jabber:iq:register';
export const NS_REGISTER_FEATURE = 'http://jabber.org/features/iq-register';
export const NS_DATA = 'jabber:x:data';
export const NS_CAPTCHA = 'urn:xmpp:captcha';
export const NS_MEDIA = 'urn:xmpp:media-element';
export const NS_BOB = 'urn:xmpp:bob';
export const NS_PARS = 'urn:xmpp:pars:0';
export const NS_IBR_TOKEN = 'urn:xmpp:ibr-token:0';
/** The invitation field: XEP-0068 wants fields a registered FORM_TYPE does not define to start with 'x-'. */
export const TOKEN_FIELD = 'x-token';

export interface OfferedCaptcha {
  id: string;
  png: Buffer;
  /** XEP-0158 §3.2: 'from' is the triggering request's 'to' and 'sid' its id, each when it had one. */
  from: string | undefined;
  sid: string | undefined;
}

const field = (type: string, name: string, label?: string, value?: string, ...more: Element[]): Element =>
  el('field', { type, var: name, label }, value === undefined ? null : el('value', {}, value), ...more);

/**
 * XEP-0077 §3.1: instructions and a XEP-0004 form; with a CAPTCHA the form is XEP-0158's
 * (FORM_TYPE urn:xmpp:captcha) and the image travels as XEP-0231 data in the query. The legacy
 * <username/> and <password/> come too only when they are all it takes (§6: not with required
 * fields they lack, such as the CAPTCHA or an invitation not given yet).
 */
export function registrationForm(opts: { captcha?: OfferedCaptcha; invite?: { preauthorized: boolean } }): Element {
  const { captcha, invite } = opts;
  const instructions = captcha
    ? 'Choose a username and a password, and type the characters shown in the image.'
    : invite && !invite.preauthorized
      ? 'Choose a username and a password, and give the invitation you received.'
      : 'Choose a username and a password.';
  const form = el('x', { xmlns: NS_DATA, type: 'form' }, el('title', {}, 'Account registration'), el('instructions', {}, instructions));
  let bob: Element | undefined;
  if (captcha) {
    const cid = contentId(captcha.png);
    form.append(
      field('hidden', 'FORM_TYPE', undefined, NS_CAPTCHA),
      captcha.from !== undefined && field('hidden', 'from', undefined, captcha.from),
      field('hidden', 'challenge', undefined, captcha.id),
      captcha.sid !== undefined && field('hidden', 'sid', undefined, captcha.sid),
      field('text-single', 'ocr', 'Enter the text you see', undefined, el('required'),
        el('media', { xmlns: NS_MEDIA, width: String(CAPTCHA_WIDTH), height: String(CAPTCHA_HEIGHT) }, el('uri', { type: 'image/png' }, `cid:${cid}`))),
    );
    bob = bobData(cid, captcha.png);
  } else {
    form.append(field('hidden', 'FORM_TYPE', undefined, NS_REGISTER));
  }
  form.append(field('text-single', 'username', 'Username', undefined, el('required')), field('text-private', 'password', 'Password', undefined, el('required')));
  if (invite && !invite.preauthorized) form.append(field('text-single', TOKEN_FIELD, 'Invitation', undefined, el('required')));
  const legacy = !captcha && (!invite || invite.preauthorized);
  return el('query', { xmlns: NS_REGISTER }, el('instructions', {}, instructions), legacy && el('username'), legacy && el('password'), form, bob);
}

/** XEP-0231 §2: the content id of data, "algo+hash@bob.xmpp.org". */
export function contentId(data: Buffer): string {
  return `sha1+${createHash('sha1').update(data).digest('hex')}@bob.xmpp.org`;
}

/** XEP-0231 §2: the image itself; max-age 0, a challenge is never to be cached. */
export function bobData(cid: string, png: Buffer): Element {
  return el('data', { xmlns: NS_BOB, cid, type: 'image/png', 'max-age': '0' }, png.toString('base64'));
}

export interface Submission {
  username: string | undefined;
  password: string | undefined;
  token: string | undefined;
  captcha: { challenge: string | undefined; answer: string | undefined };
  remove: boolean;
}

/** What a registration set says: a submitted form wins over the legacy fields (XEP-0077 §6). */
export function readSubmission(query: Element): Submission {
  const form = query.getChildren('x', NS_DATA).find((x) => x.attrs['type'] === 'submit');
  const values = new Map<string, string>();
  if (form) for (const f of form.getChildren('field')) if (f.attrs['var']) values.set(f.attrs['var'], f.getChildText('value') ?? '');
  const pick = (name: string): string | undefined => (form ? values.get(name) : query.getChildText(name));
  return {
    username: pick('username'),
    password: pick('password'),
    token: form ? values.get(TOKEN_FIELD) : undefined,
    captcha: { challenge: values.get('challenge'), answer: values.get('ocr') },
    remove: query.getChild('remove') !== undefined,
  };
}
