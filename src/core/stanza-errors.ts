// RFC 6120 §8.3.1: the one way an error reply is built, and the rule of which stanzas get one.
import { Element } from './xml/element.ts';
import type { StanzaError } from './errors.ts';

/** Errors and IQ results are never answered (RFC 6120 §8.3.1, §8.2.3). */
export function isAnswerable(stanza: Element): boolean {
  const type = stanza.attrs['type'];
  return type !== 'error' && !(stanza.name === 'iq' && type === 'result');
}

/**
 * The error reply to `stanza`: same kind and id, type 'error', `from`/`to` as given (the caller
 * swaps the original's), the original payload (for an IQ only its one payload element, never a
 * whitespace node) and the error condition.
 */
export function errorReply(stanza: Element, error: StanzaError, addressing: { from?: string; to?: string }): Element {
  const attrs: Record<string, string> = { ...stanza.attrs, type: 'error' };
  delete attrs['from'];
  delete attrs['to'];
  if (addressing.from !== undefined) attrs['from'] = addressing.from;
  if (addressing.to !== undefined) attrs['to'] = addressing.to;
  const payload = stanza.name === 'iq' ? stanza.elements.slice(0, 1) : stanza.children;
  return new Element(stanza.name, attrs, [...payload, error.toElement()]);
}
