// XEP-0388 Extensible SASL Profile (v0.4.0): the <authentication/> stream feature and the exchange
// that starts with <authenticate/>, with the requests a client may put inline: XEP-0386 Bind 2,
// XEP-0198 resumption and XEP-0484 FAST. SASL2 keeps every defence of RFC 6120 SASL: offered only
// after TLS, the same mechanisms (-PLUS only with channel binding, XEP-0440 types advertised,
// XEP-0474 downgrade protection in SCRAM), the same throttle. No stream restart: <success/> is
// followed by the stream features at once. No <continue/> tasks are defined here.
import type { Logger } from 'pino';
import { el, type Element } from '../xml/element.ts';
import { StreamError, type StanzaError } from '../errors.ts';
import { tryParseJid } from '../jid.ts';
import { channelBindingTypes, NS_SASL, offeredMechanisms, SaslExchange, type SaslFailureCondition, type SaslStep } from '../sasl.ts';
import type { ServerCore } from '../server-core.ts';
import type { ElementTransport } from '../transport.ts';
import type { SessionInfo } from '../session.ts';
import { htMechanisms } from '../../lib/sasl-ht.ts';
import { bind2, bind2Feature, bind2Resource, NS_BIND2, parseBind2, type Bind2Request } from './bind2.ts';
import { FastExchange } from './fast-exchange.ts';
import { guardStep, throttleRefusal } from './login-guard.ts';
import { NS_SM } from './stream-management.ts';

export const NS_SASL2 = 'urn:xmpp:sasl:2';
export const NS_FAST = 'urn:xmpp:fast:0';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

/** Longest <user-agent id> accepted (it is a UUID in practice); only a keyed hash of it is ever kept. */
const MAX_USER_AGENT_ID = 256;

/** What this connection offers: the SASL mechanisms, FAST's HT mechanisms, Bind 2's inline features. */
export interface Sasl2Offer {
  mechanisms: string[];
  fast: string[];
  inline: string[];
}

export function sasl2Offer(core: ServerCore, transport: ElementTransport, host: string): Sasl2Offer {
  const mechanisms = offeredMechanisms(core.config.auth.mechanisms, transport);
  const fast = core.config.fast.enabled && transport.secure ? htMechanisms(channelBindingTypes(transport)) : [];
  const inline = [...(core.host(host)?.bind2Features.keys() ?? []), NS_SM];
  return { mechanisms, fast, inline };
}

/**
 * §2.1: the feature, with Bind 2 (XEP-0386 §2.1), inline resumption (XEP-0198) and FAST
 * (XEP-0484 §4.1) in <inline/>. Not offered without a mechanism (nor, by the caller, before TLS).
 */
export function authenticationFeature(offer: Sasl2Offer): Element | undefined {
  if (offer.mechanisms.length === 0) return undefined;
  return el('authentication', { xmlns: NS_SASL2 },
    ...offer.mechanisms.map((m) => el('mechanism', {}, m)),
    el('inline', {},
      bind2Feature(offer.inline),
      el('sm', { xmlns: NS_SM }),
      offer.fast.length ? el('fast', { xmlns: NS_FAST }, ...offer.fast.map((m) => el('mechanism', {}, m))) : null));
}

/** An <authenticate/> request, checked before any of it is acted on. */
export interface AuthenticateRequest {
  mechanism: string;
  initial: Buffer | undefined;
  userAgentId: string | undefined;
  bind: Bind2Request | undefined;
  resume: { previd: string; h: string | undefined } | undefined;
  /** XEP-0484 §4.3: the client logs in with a token. */
  fast: { count: number | undefined; invalidate: boolean } | undefined;
  /** XEP-0484 §4.2: the mechanism of the token asked for. */
  requestToken: string | undefined;
}

type Refusal = { condition: SaslFailureCondition; text: string };

/** Children in the element's own namespace: written without xmlns (inherited) or with it. */
function own(e: Element, name: string): Element[] {
  return e.getChildren(name).filter((c) => c.attrs['xmlns'] === undefined || c.attrs['xmlns'] === NS_SASL2);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** §2.2: base64, whitespace ignored (SHOULD NOT be there); an empty element is empty data. */
function decodeData(text: string): Buffer | undefined {
  const t = text.replace(/\s+/g, '');
  return BASE64.test(t) ? Buffer.from(t, 'base64') : undefined;
}

function parseBoolean(raw: string | undefined): boolean | undefined {
  if (raw === undefined || raw === 'false' || raw === '0') return false;
  return raw === 'true' || raw === '1' ? true : undefined;
}

/** Parses and checks <authenticate/> against the offer; a refusal names what is wrong. */
export function parseAuthenticate(e: Element, offer: Sasl2Offer): AuthenticateRequest | Refusal {
  const malformed = (text: string): Refusal => ({ condition: 'malformed-request', text });
  const mechanism = e.attrs['mechanism'] ?? '';
  // §2.3: a mechanism or upgrade not announced "MUST fail the authentication"; none is announced.
  if (e.attrs['upgrade'] !== undefined) return { condition: 'invalid-mechanism', text: 'No upgrade tasks are offered' };
  const isFast = offer.fast.includes(mechanism);
  if (!isFast && !offer.mechanisms.includes(mechanism)) return { condition: 'invalid-mechanism', text: 'That mechanism is not offered' };

  const responses = own(e, 'initial-response');
  if (responses.length > 1) return malformed('More than one <initial-response/>');
  let initial: Buffer | undefined;
  if (responses[0]) {
    initial = decodeData(responses[0].text());
    if (!initial) return { condition: 'incorrect-encoding', text: 'The initial response is not base64' };
  }

  const agents = own(e, 'user-agent');
  if (agents.length > 1) return malformed('More than one <user-agent/>');
  const userAgentId = agents[0]?.attrs['id'];
  if (userAgentId !== undefined && (userAgentId.trim() === '' || userAgentId.length > MAX_USER_AGENT_ID)) return malformed('Invalid <user-agent/> id');

  let bind: Bind2Request | undefined;
  const bindEl = e.getChildren('bind', NS_BIND2);
  if (bindEl.length > 1) return malformed('More than one <bind/>');
  if (bindEl[0]) {
    const parsed = parseBind2(bindEl[0]);
    if (typeof parsed === 'string') return malformed(parsed);
    bind = parsed;
  }

  const resumes = e.getChildren('resume', NS_SM);
  if (resumes.length > 1) return malformed('More than one <resume/>');
  const resume = resumes[0] ? { previd: resumes[0].attrs['previd'] ?? '', h: resumes[0].attrs['h'] } : undefined;

  // XEP-0484 §4.3: a token login carries <fast/>, and only a token login does.
  const fastEls = e.getChildren('fast', NS_FAST);
  if (fastEls.length > 1) return malformed('More than one <fast/>');
  const fastEl = fastEls[0];
  if (isFast !== (fastEl !== undefined)) return malformed(isFast ? 'A token login needs <fast xmlns="urn:xmpp:fast:0"/>' : '<fast/> goes with a FAST mechanism only');
  let fast: AuthenticateRequest['fast'];
  if (fastEl) {
    const rawCount = fastEl.attrs['count'];
    // "The value of this attribute MUST be a positive integer".
    if (rawCount !== undefined && !/^[1-9][0-9]{0,14}$/.test(rawCount)) return malformed('count must be a positive integer');
    const invalidate = parseBoolean(fastEl.attrs['invalidate']);
    if (invalidate === undefined) return malformed('invalidate must be true or false');
    fast = { count: rawCount === undefined ? undefined : Number(rawCount), invalidate };
  }

  const requests = e.getChildren('request-token', NS_FAST);
  if (requests.length > 1) return malformed('More than one <request-token/>');
  const requestToken = requests[0]?.attrs['mechanism'];
  if (requests[0] && (requestToken === undefined || !offer.fast.includes(requestToken))) return malformed('<request-token/> must name an offered FAST mechanism');
  // XEP-0484 §5.1: tokens are per client, named by the <user-agent/> id.
  if ((fast || requests[0]) && userAgentId === undefined) return malformed('FAST needs a <user-agent/> with an id');

  return { mechanism, initial, userAgentId, bind, resume, fast, requestToken };
}

/** What SASL2 needs from the client stream; each one the code path used without SASL2. */
export interface Sasl2Stream {
  readonly core: ServerCore;
  readonly transport: ElementTransport;
  readonly host: string;
  readonly log: Logger;
  /** The stream header's 'from', if any (§2.1: the JID the client wants to authenticate as). */
  readonly streamFrom: string | undefined;
  write(e: Element): void;
  /** A failed attempt on this stream (too many end it, as with RFC 6120 SASL). */
  failedLogin(condition: SaslFailureCondition): void;
  /** The stream is authenticated as `user`. */
  authenticated(user: string): void;
  /** XEP-0198 §5 for `user`: <resumed/> (with the session, and what to send again after <success/>) or <failed/>. */
  resume(user: string, previd: string, h: string | undefined): { element: Element; resumed?: { jid: string; resend: () => void } };
  /** RFC 6120 §7 binding of a server-chosen resource; `client` ends the client's earlier sessions. */
  bind(user: string, resource: string, client: string | undefined): Promise<SessionInfo | StanzaError>;
  /** XEP-0198 §3 <enable/> for the session just bound. */
  enableSm(request: Element): Element;
  /** Writes the stream features of the authenticated stream. */
  features(): void;
  /** After <success/>: the new session's hooks. */
  bound(session: SessionInfo): Promise<void>;
}

type Exchange = SaslExchange | FastExchange;

/** The SASL2 negotiation of one stream. */
export class Sasl2 {
  readonly #stream: Sasl2Stream;
  #pending: { request: AuthenticateRequest; exchange: Exchange } | undefined;

  constructor(stream: Sasl2Stream) {
    this.#stream = stream;
  }

  /** §2.5: while true, only <response/> and <abort/> may come. */
  get inProgress(): boolean {
    return this.#pending !== undefined;
  }

  async onElement(e: Element): Promise<void> {
    switch (e.name) {
      case 'authenticate':
        if (this.#pending) throw new StreamError('policy-violation', 'An authentication is already in progress');
        return this.#authenticate(e);
      case 'response': {
        const pending = this.#pending;
        if (!pending) return this.#fail({ kind: 'failure', condition: 'malformed-request', text: 'No authentication is in progress' });
        const data = decodeData(e.text());
        if (!data) return this.#fail({ kind: 'failure', condition: 'incorrect-encoding' });
        return this.#outcome(pending.request, pending.exchange, await pending.exchange.step(data));
      }
      case 'abort':
        return this.#fail({ kind: 'failure', condition: 'aborted' });
      case 'next':
        return this.#fail({ kind: 'failure', condition: 'malformed-request', text: 'No task was offered' });
      default:
        throw new StreamError('unsupported-stanza-type', `Unknown SASL2 element <${e.name}/>`);
    }
  }

  async #authenticate(e: Element): Promise<void> {
    const s = this.#stream;
    const offer = sasl2Offer(s.core, s.transport, s.host);
    const refused = throttleRefusal(s.core, s.transport.peerAddress);
    if (refused) return this.#fail(refused);
    const request = parseAuthenticate(e, offer);
    if ('condition' in request) return this.#fail({ kind: 'failure', ...request });
    const exchange: Exchange = request.fast
      ? new FastExchange(request.mechanism, s.host, s.core.fastTokens, s.transport, request.userAgentId ?? '', request.fast.count)
      : new SaslExchange(request.mechanism, s.host, s.core.accounts, s.transport, offer.mechanisms, channelBindingTypes(s.transport), {
          iterations: s.core.config.auth.scram_iterations,
          unknownUserSecret: s.core.secret,
        });
    return this.#outcome(request, exchange, await exchange.start(request.initial));
  }

  async #outcome(request: AuthenticateRequest, exchange: Exchange, raw: SaslStep): Promise<void> {
    const s = this.#stream;
    const step = await guardStep(s.core, s.transport.peerAddress, s.host, exchange.username, raw);
    switch (step.kind) {
      case 'challenge':
        this.#pending = { request, exchange };
        s.write(el('challenge', { xmlns: NS_SASL2 }, step.data.toString('base64')));
        return;
      case 'failure':
        return this.#fail(step);
      case 'success':
        return this.#succeed(request, exchange, step.user, step.data);
    }
  }

  /** §2.6.2: ends the attempt; the stream stays as it was. */
  #fail(step: Extract<SaslStep, { kind: 'failure' }>, extra?: Element): void {
    this.#pending = undefined;
    const s = this.#stream;
    s.write(el('failure', { xmlns: NS_SASL2 }, el(step.condition, { xmlns: NS_SASL }), extra, step.text ? el('text', { 'xml:lang': 'en' }, step.text) : null));
    s.failedLogin(step.condition);
  }

  /**
   * §2.6.1: the inline requests run now, in XEP-0386's order (resumption first; a bind only when
   * there is nothing to resume), then <success/> with their results and the stream features.
   */
  async #succeed(request: AuthenticateRequest, exchange: Exchange, user: string, data: Buffer | undefined): Promise<void> {
    this.#pending = undefined;
    const s = this.#stream;
    const host = s.host;
    // §3.4: a non-empty authorization identity must match the stream's 'from'.
    const from = s.streamFrom === undefined ? undefined : tryParseJid(s.streamFrom);
    if (exchange.authzid !== undefined && s.streamFrom !== undefined && from?.bareString !== `${user}@${host}`) {
      return this.#fail({ kind: 'failure', condition: 'invalid-authzid', text: "The authorization identity differs from the stream's 'from'" });
    }
    const results: Element[] = [];
    let resumed: { jid: string; resend: () => void } | undefined;
    if (request.resume) {
      const r = s.resume(user, request.resume.previd, request.resume.h);
      results.push(r.element);
      resumed = r.resumed;
    }
    let bound: SessionInfo | undefined;
    if (!resumed && request.bind) {
      const resource = bind2Resource(s.core.secret, host, user, request.userAgentId, request.bind.tag);
      if (resource === undefined) return this.#fail({ kind: 'failure', condition: 'malformed-request', text: 'The <tag/> makes no valid resource' });
      const client = request.userAgentId === undefined ? undefined : s.core.fastTokens.clientKey(host, user, request.userAgentId);
      const stream = { bind: (r: string, c: string | undefined) => s.bind(user, r, c), enableSm: (e: Element) => s.enableSm(e) };
      const r = await bind2(stream, s.core.host(host)?.bind2Features ?? new Map(), request.bind, resource, client);
      if ('error' in r) {
        // Not authenticated after all (§2.6.2): nothing was bound.
        return this.#fail({ kind: 'failure', condition: 'temporary-auth-failure', text: r.error.text ?? 'The resource could not be bound' }, el(r.error.condition, { xmlns: NS_STANZAS }));
      }
      // After a failed inline resumption (XEP-0198 §5), in the order things happened: a client
      // such as xmpp.js reads <failed/> as "stream management off", so <bound/> with its
      // <enabled/> must come after it.
      results.push(r.bound);
      bound = r.session;
    }
    s.authenticated(user);
    const token = await this.#fastToken(request, exchange, user);
    if (token) results.push(token);
    // §2.6.1: a full JID once a resource is bound (or resumed), else the bare JID.
    const identity = resumed?.jid ?? bound?.jid.toString() ?? `${user}@${host}`;
    s.write(el('success', { xmlns: NS_SASL2 },
      data?.length ? el('additional-data', {}, data.toString('base64')) : null,
      el('authorization-identifier', {}, identity),
      ...results));
    s.features();
    resumed?.resend();
    if (bound) await s.bound(bound);
  }

  /**
   * XEP-0484: §4.5 invalidation on request; a new token when asked for (§4.2) or when the one
   * just used is due (§4.4), never after an invalidation unless asked for. A storage failure costs
   * the client its token, not its login.
   */
  async #fastToken(request: AuthenticateRequest, exchange: Exchange, user: string): Promise<Element | undefined> {
    const s = this.#stream;
    const id = request.userAgentId;
    if (id === undefined || !s.core.config.fast.enabled) return undefined;
    const tokens = s.core.fastTokens;
    const client = tokens.clientKey(s.host, user, id);
    try {
      if (request.fast?.invalidate) await tokens.invalidate(s.host, user, client);
      const rotate = exchange instanceof FastExchange && exchange.rotate && !request.fast?.invalidate;
      const mechanism = request.requestToken ?? (rotate ? exchange.mechanism : undefined);
      if (mechanism === undefined) return undefined;
      const { token, expiry } = await tokens.issue(s.host, user, client, mechanism);
      return el('token', { xmlns: NS_FAST, expiry, token });
    } catch (err) {
      s.log.warn({ err }, 'FAST token not issued');
      return undefined;
    }
  }
}
