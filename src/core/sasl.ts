// SASL negotiation for client streams (RFC 6120 §6): SCRAM-SHA-1/-256 and their -PLUS variants
// (RFC 5802, RFC 7677), PLAIN over TLS only (RFC 4616), XEP-0440 channel-binding capabilities
// and XEP-0474 downgrade protection.
import { el, type Element } from './xml/element.ts';
import { ScramServer, type SaslFailure, type ScramHash } from '../lib/scram.ts';
import type { Accounts } from './accounts.ts';
import type { ChannelBindingType, ElementTransport } from './transport.ts';
import { prepLocalpart } from './jid.ts';

export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
export const NS_SASL_CB = 'urn:xmpp:sasl-cb:0';

export type SaslFailureCondition =
  | 'aborted' | 'account-disabled' | 'credentials-expired' | 'encryption-required' | 'incorrect-encoding'
  | 'invalid-authzid' | 'invalid-mechanism' | 'malformed-request' | 'mechanism-too-weak' | 'not-authorized'
  | 'temporary-auth-failure';

/**
 * What a failure says about the login, for brute-force counting: 'credentials' (a wrong password
 * or SCRAM proof) counts against the address and the account; 'binding' (a channel-binding
 * mismatch or downgrade) against the account only; anything else (malformed, aborted) not at all.
 */
export type FailureCount = 'credentials' | 'binding';

export type SaslStep =
  | { kind: 'challenge'; data: Buffer }
  | { kind: 'success'; data: Buffer | undefined; user: string }
  | { kind: 'failure'; condition: SaslFailureCondition; text?: string; counts?: FailureCount };

const BINDING_ERRORS: ReadonlySet<string> = new Set(['channel-bindings-dont-match', 'unsupported-channel-binding-type', 'server-does-support-channel-binding']);

function scramFailure(f: SaslFailure): SaslStep {
  const counts: FailureCount | undefined = f.scramError === 'invalid-proof' ? 'credentials' : f.scramError && BINDING_ERRORS.has(f.scramError) ? 'binding' : undefined;
  return { kind: 'failure', condition: f.condition, ...(f.text === undefined ? {} : { text: f.text }), ...(counts ? { counts } : {}) };
}

const SCRAM: Record<string, { hash: ScramHash; plus: boolean }> = {
  'SCRAM-SHA-1': { hash: 'SHA-1', plus: false },
  'SCRAM-SHA-1-PLUS': { hash: 'SHA-1', plus: true },
  'SCRAM-SHA-256': { hash: 'SHA-256', plus: false },
  'SCRAM-SHA-256-PLUS': { hash: 'SHA-256', plus: true },
};

/** Channel-binding types this TLS session can supply (RFC 9266: tls-exporter needs TLS 1.3 here). */
export function channelBindingTypes(transport: ElementTransport): ChannelBindingType[] {
  return transport.secure ? transport.channelBindingTypes() : [];
}

/**
 * Types accepted without being advertised. COMPAT: slixmpp 1.8 and poezio know only tls-unique and
 * send it on TLS 1.3 too; they compute it from the first Finished message, as OpenSSL defines it
 * for the connection, and so do we (src/transports/tcp.ts). Advertised stay the RFC 9266 types (XEP-0440).
 */
export function acceptedChannelBindingTypes(transport: ElementTransport): ChannelBindingType[] {
  const advertised = channelBindingTypes(transport);
  return advertised.length && !advertised.includes('tls-unique') ? [...advertised, 'tls-unique'] : advertised;
}

/** The mechanisms to offer on this connection: none before TLS, -PLUS only with channel binding. */
export function offeredMechanisms(configured: readonly string[], transport: ElementTransport): string[] {
  if (!transport.secure) return [];
  const hasCb = channelBindingTypes(transport).length > 0;
  return configured.filter((m) => (m.endsWith('-PLUS') ? hasCb : true));
}

export function mechanismsFeature(mechs: string[], cbTypes: string[]): Element[] {
  const out = [el('mechanisms', { xmlns: NS_SASL }, ...mechs.map((m) => el('mechanism', {}, m)))];
  if (cbTypes.length) out.push(el('sasl-channel-binding', { xmlns: NS_SASL_CB }, ...cbTypes.map((t) => el('channel-binding', { type: t }))));
  return out;
}

/** One SASL exchange on one stream. */
export class SaslExchange {
  readonly #host: string;
  readonly #accounts: Accounts;
  readonly #scram: ScramServer | undefined;
  readonly #mechanism: string;
  /** The account exists but has no credentials for this mechanism's hash. */
  #hashMissing = false;
  /** The prepared username the client named, once known (for per-account brute-force counts). */
  username: string | undefined;
  /** The authorization identity the client asked for, if any (XEP-0388 checks it against the stream's 'from'). */
  authzid: string | undefined;

  constructor(
    mechanism: string,
    host: string,
    accounts: Accounts,
    transport: ElementTransport,
    offered: string[],
    cbTypes: ChannelBindingType[],
    secrets: { iterations: number; unknownUserSecret: Buffer },
  ) {
    this.#host = host;
    this.#accounts = accounts;
    this.#mechanism = mechanism;
    const scram = SCRAM[mechanism];
    if (scram) {
      this.#scram = new ScramServer({
        hash: scram.hash,
        plus: scram.plus,
        lookup: async (username) => {
          const user = safePrep(username);
          this.username = user;
          if (user === undefined) return undefined;
          const creds = await accounts.scramCredentials(host, user, scram.hash);
          // An account imported without this hash (XEP-0227, SCRAM-SHA-1 only) fails as an unknown
          // user would, but it is no guess: not counted by the brute-force throttle.
          if (!creds) this.#hashMissing = await accounts.exists(host, user);
          return creds;
        },
        channelBinding: (type) => transport.channelBinding(type as ChannelBindingType),
        supportedCbTypes: cbTypes,
        acceptedCbTypes: acceptedChannelBindingTypes(transport),
        // RFC 5802 §6: 'y' (client supports channel binding, thinks we don't) after we offered
        // -PLUS means the mechanism list was stripped on the way: a downgrade, refused.
        plusAdvertised: offered.some((m) => m.endsWith('-PLUS')),
        downgradeProtection: { mechanisms: offered, cbTypes },
        // Unknown users go through the same steps with the same cost as real ones.
        unknownUserIterations: secrets.iterations,
        unknownUserSecret: secrets.unknownUserSecret,
      });
    }
  }

  /** Handles <auth/>'s initial response (undefined when the client sent none). */
  async start(initial: Buffer | undefined): Promise<SaslStep> {
    if (this.#mechanism === 'PLAIN') {
      if (!initial || initial.length === 0) return { kind: 'challenge', data: Buffer.alloc(0) };
      return this.#plain(initial);
    }
    if (!this.#scram) return { kind: 'failure', condition: 'invalid-mechanism' };
    if (!initial || initial.length === 0) return { kind: 'failure', condition: 'malformed-request', text: 'SCRAM needs an initial response' };
    const r = await this.#scram.clientFirst(initial);
    if ('failure' in r) return scramFailure(r.failure);
    return { kind: 'challenge', data: r.challenge };
  }

  /** Handles a <response/>. */
  async step(data: Buffer): Promise<SaslStep> {
    if (this.#mechanism === 'PLAIN') return this.#plain(data);
    if (!this.#scram) return { kind: 'failure', condition: 'invalid-mechanism' };
    const r = this.#scram.clientFinal(data);
    if ('failure' in r) {
      const failure = scramFailure(r.failure);
      if (this.#hashMissing && failure.kind === 'failure') delete failure.counts;
      return failure;
    }
    const user = safePrep(r.username);
    if (user === undefined) return { kind: 'failure', condition: 'not-authorized' };
    if (r.authzid && r.authzid !== `${user}@${this.#host}`) return { kind: 'failure', condition: 'invalid-authzid' };
    this.authzid = r.authzid || undefined;
    return { kind: 'success', data: r.success, user };
  }

  async #plain(data: Buffer): Promise<SaslStep> {
    const parts = data.toString('utf8').split('\u0000');
    if (parts.length !== 3) return { kind: 'failure', condition: 'malformed-request' };
    const [authzid, authcid, password] = parts as [string, string, string];
    const user = safePrep(authcid);
    this.username = user;
    if (user === undefined || !(await this.#accounts.checkPassword(this.#host, user, password))) {
      return { kind: 'failure', condition: 'not-authorized', counts: 'credentials' };
    }
    if (authzid && authzid !== `${user}@${this.#host}`) return { kind: 'failure', condition: 'invalid-authzid' };
    this.authzid = authzid || undefined;
    return { kind: 'success', data: undefined, user };
  }
}

function safePrep(username: string): string | undefined {
  try {
    return prepLocalpart(username);
  } catch {
    return undefined;
  }
}
