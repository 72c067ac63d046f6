// Errors as typed data (RFC 6120 §4.9 stream errors, §8.3 stanza errors, configuration errors).
import { el, type Element } from './xml/element.ts';

export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
export const NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';

export type StanzaErrorType = 'auth' | 'cancel' | 'continue' | 'modify' | 'wait';

export type StanzaErrorCondition =
  | 'bad-request' | 'conflict' | 'feature-not-implemented' | 'forbidden' | 'gone'
  | 'internal-server-error' | 'item-not-found' | 'jid-malformed' | 'not-acceptable'
  | 'not-allowed' | 'not-authorized' | 'policy-violation' | 'recipient-unavailable'
  | 'redirect' | 'registration-required' | 'remote-server-not-found' | 'remote-server-timeout'
  | 'resource-constraint' | 'service-unavailable' | 'subscription-required'
  | 'undefined-condition' | 'unexpected-request';

export type StreamErrorCondition =
  | 'bad-format' | 'bad-namespace-prefix' | 'conflict' | 'connection-timeout' | 'host-gone'
  | 'host-unknown' | 'improper-addressing' | 'internal-server-error' | 'invalid-from'
  | 'invalid-namespace' | 'invalid-xml' | 'not-authorized' | 'not-well-formed'
  | 'policy-violation' | 'remote-connection-failed' | 'reset' | 'resource-constraint'
  | 'restricted-xml' | 'see-other-host' | 'system-shutdown' | 'undefined-condition'
  | 'unsupported-encoding' | 'unsupported-feature' | 'unsupported-stanza-type'
  | 'unsupported-version';

/** Default error type for each condition (RFC 6120 §8.3.3). */
const DEFAULT_TYPE: Record<StanzaErrorCondition, StanzaErrorType> = {
  'bad-request': 'modify', conflict: 'cancel', 'feature-not-implemented': 'cancel', forbidden: 'auth',
  gone: 'cancel', 'internal-server-error': 'cancel', 'item-not-found': 'cancel', 'jid-malformed': 'modify',
  'not-acceptable': 'modify', 'not-allowed': 'cancel', 'not-authorized': 'auth', 'policy-violation': 'modify',
  'recipient-unavailable': 'wait', redirect: 'modify', 'registration-required': 'auth',
  'remote-server-not-found': 'cancel', 'remote-server-timeout': 'wait', 'resource-constraint': 'wait',
  'service-unavailable': 'cancel', 'subscription-required': 'auth', 'undefined-condition': 'cancel',
  'unexpected-request': 'wait',
};

export class StanzaError extends Error {
  readonly condition: StanzaErrorCondition;
  readonly type: StanzaErrorType;
  readonly text: string | undefined;
  /** Extra application-specific condition element (e.g. XEP-0191 <blocked/>). */
  readonly appCondition: Element | undefined;

  constructor(condition: StanzaErrorCondition, text?: string, type?: StanzaErrorType, appCondition?: Element) {
    super(text ?? condition);
    this.condition = condition;
    this.type = type ?? DEFAULT_TYPE[condition];
    this.text = text;
    this.appCondition = appCondition;
  }

  toElement(by?: string): Element {
    return el(
      'error',
      { type: this.type, by },
      el(this.condition, { xmlns: NS_STANZAS }),
      this.text ? el('text', { xmlns: NS_STANZAS, 'xml:lang': 'en' }, this.text) : null,
      this.appCondition,
    );
  }
}

export class StreamError extends Error {
  readonly condition: StreamErrorCondition;
  readonly text: string | undefined;
  /** An application-specific condition (RFC 6120 §4.9.4), e.g. XEP-0198's <handled-count-too-high/>. */
  readonly application: Element | undefined;

  constructor(condition: StreamErrorCondition, text?: string, application?: Element) {
    super(text ?? condition);
    this.condition = condition;
    this.text = text;
    this.application = application;
  }

  toElement(): Element {
    return el(
      'stream:error',
      {},
      el(this.condition, { xmlns: NS_STREAMS }),
      this.text ? el('text', { xmlns: NS_STREAMS, 'xml:lang': 'en' }, this.text) : null,
      this.application,
    );
  }
}

/** A configuration problem, naming the option (and host and line where known). */
export class ConfigError extends Error {
  readonly option: string;
  readonly host: string | undefined;
  readonly line: number | undefined;

  constructor(option: string, message: string, opts: { host?: string; line?: number } = {}) {
    const where = [opts.host ? `host ${opts.host}` : '', opts.line ? `line ${opts.line}` : ''].filter(Boolean).join(', ');
    super(`config: ${option}${where ? ` (${where})` : ''}: ${message}`);
    this.option = option;
    this.host = opts.host;
    this.line = opts.line;
  }
}

export const badRequest = (text?: string): StanzaError => new StanzaError('bad-request', text);
export const notAllowed = (text?: string): StanzaError => new StanzaError('not-allowed', text);
export const forbidden = (text?: string): StanzaError => new StanzaError('forbidden', text);
export const itemNotFound = (text?: string): StanzaError => new StanzaError('item-not-found', text);
export const serviceUnavailable = (text?: string): StanzaError => new StanzaError('service-unavailable', text);
