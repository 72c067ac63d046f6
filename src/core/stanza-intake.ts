// The one intake check of a stanza from any peer (RFC 6120 §8.1, §8.2.3): what every stream role
// runs before routing. A StanzaError thrown here is answered to the sender; the stream goes on.
import type { Element } from './xml/element.ts';
import { StanzaError } from './errors.ts';
import { JidError, parseJid, type Jid } from './jid.ts';

export type StanzaName = 'message' | 'presence' | 'iq';

export function isStanzaName(name: string): name is StanzaName {
  return name === 'message' || name === 'presence' || name === 'iq';
}

/** Checks the stanza's form and returns its parsed 'to' (undefined when absent). */
export function checkStanza(e: Element): { to: Jid | undefined } {
  if (e.name === 'iq') {
    const type = e.attrs['type'];
    // §8.2.3: an IQ needs an id and one of the four types; a get or set exactly one payload.
    if (!e.attrs['id'] || (type !== 'get' && type !== 'set' && type !== 'result' && type !== 'error')) {
      throw new StanzaError('bad-request', 'An IQ needs an id and a valid type');
    }
    if ((type === 'get' || type === 'set') && e.elements.length !== 1) {
      throw new StanzaError('bad-request', 'An IQ get/set needs exactly one payload');
    }
  }
  const toAttr = e.attrs['to'];
  if (toAttr === undefined) return { to: undefined };
  try {
    return { to: parseJid(toAttr) };
  } catch (err) {
    if (err instanceof JidError) throw new StanzaError('jid-malformed');
    throw err;
  }
}
