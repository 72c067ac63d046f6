// One XEP-0484 FAST login: an HT mechanism (src/lib/sasl-ht.ts) checked against the client's
// stored tokens (src/core/fast-tokens.ts), with this TLS connection's channel binding.
import type { SaslStep } from '../sasl.ts';
import type { ChannelBindingType, ElementTransport } from '../transport.ts';
import type { FastTokens } from '../fast-tokens.ts';
import { prepLocalpart } from '../jid.ts';
import { parseHtMechanism, parseInitiatorMessage } from '../../lib/sasl-ht.ts';

export class FastExchange {
  readonly mechanism: string;
  readonly #host: string;
  readonly #tokens: FastTokens;
  readonly #transport: ElementTransport;
  readonly #userAgentId: string;
  readonly #count: number | undefined;
  /** The prepared username, once known (for per-account brute-force counts). */
  username: string | undefined;
  readonly authzid = undefined;
  /** After a success: whether the token is due for replacement (XEP-0484 §4.4). */
  rotate = false;

  constructor(mechanism: string, host: string, tokens: FastTokens, transport: ElementTransport, userAgentId: string, count: number | undefined) {
    this.mechanism = mechanism;
    this.#host = host;
    this.#tokens = tokens;
    this.#transport = transport;
    this.#userAgentId = userAgentId;
    this.#count = count;
  }

  /** The client's initiator message; HT is client-first and ends in this one step. */
  async start(initial: Buffer | undefined): Promise<SaslStep> {
    if (!initial) return { kind: 'failure', condition: 'malformed-request', text: 'HT mechanisms need an initial response' };
    const msg = parseInitiatorMessage(initial);
    if (!msg) return { kind: 'failure', condition: 'malformed-request', text: 'Invalid HT initiator message' };
    const cb = parseHtMechanism(this.mechanism);
    const cbData = cb === undefined || cb === 'none' ? Buffer.alloc(0) : this.#transport.channelBinding(cb as ChannelBindingType);
    if (cbData === undefined) return { kind: 'failure', condition: 'invalid-mechanism', text: 'This connection has no such channel binding' };
    let user: string;
    try {
      user = prepLocalpart(msg.authcid);
    } catch {
      return { kind: 'failure', condition: 'not-authorized', counts: 'credentials' };
    }
    this.username = user;
    const client = this.#tokens.clientKey(this.#host, user, this.#userAgentId);
    const check = await this.#tokens.verify(this.#host, user, client, this.mechanism, msg.hash, cbData, this.#count);
    if (!check.ok) {
      const { condition, text, counts } = check;
      return { kind: 'failure', condition, ...(text === undefined ? {} : { text }), ...(counts === undefined ? {} : { counts }) };
    }
    this.rotate = check.rotate;
    return { kind: 'success', data: check.responder, user };
  }

  /** HT has no second client message. */
  step(): Promise<SaslStep> {
    return Promise.resolve({ kind: 'failure', condition: 'malformed-request', text: 'HT mechanisms take no response' });
  }
}
