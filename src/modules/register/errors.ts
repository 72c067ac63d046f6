// XEP-0077 §9: "A compliant server or service implementation MUST support both old-style and
// new-style error handling": every registration error also carries its XEP-0086 legacy code.
import { StanzaError, type StanzaErrorCondition, type StanzaErrorType } from '../../core/errors.ts';
import type { Element } from '../../core/xml/element.ts';

/** XEP-0086 §3: the legacy code of each condition this module sends. */
const LEGACY_CODES: Partial<Record<StanzaErrorCondition, string>> = {
  'bad-request': '400',
  conflict: '409',
  forbidden: '403',
  'internal-server-error': '500',
  'item-not-found': '404',
  'not-acceptable': '406',
  'not-allowed': '405',
  'not-authorized': '401',
  'registration-required': '407',
  'resource-constraint': '500',
  'service-unavailable': '503',
  'unexpected-request': '400',
};

export class RegisterError extends StanzaError {
  constructor(condition: StanzaErrorCondition, text?: string, type?: StanzaErrorType) {
    super(condition, text, type);
  }

  override toElement(by?: string): Element {
    const e = super.toElement(by);
    const code = LEGACY_CODES[this.condition];
    if (code) e.attrs['code'] = code;
    return e;
  }
}
