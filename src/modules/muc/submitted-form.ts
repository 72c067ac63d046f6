// A data form a client submitted to a room (configuration, voice request, nick registration):
// one that can't be read is the client's error, <bad-request/> (XEP-0004 §3.3).
import { StanzaError } from '../../core/errors.ts';
import { FormError, parseForm, type FormValues } from '../../lib/data-form.ts';
import type { Element } from '../../core/xml/element.ts';

export function readSubmittedForm(x: Element): FormValues {
  try {
    return parseForm(x);
  } catch (e) {
    if (e instanceof FormError) throw new StanzaError('bad-request', e.message);
    throw e;
  }
}
