// XEP-0386 Bind 2 (v1.0.0): the <bind/> request inside a SASL2 <authenticate/>, the resource it
// gets, and the session features enabled with it, answered in <bound/>. The binding itself is the
// stream's RFC 6120 code path; this file only decides what to ask of it.
import { createHmac, randomBytes } from 'node:crypto';
import { el, type Element } from '../xml/element.ts';
import { prepResourcepart } from '../jid.ts';
import { StanzaError } from '../errors.ts';
import type { SessionInfo } from '../session.ts';
import type { Bind2Handler } from '../modules.ts';
import { NS_SM } from './stream-management.ts';

export const NS_BIND2 = 'urn:xmpp:bind:0';

export interface Bind2Request {
  /** <tag/>: the client's name, the first part of the resource (§2.2.1). */
  tag: string | undefined;
  /** Features to enable for the new session (children in other namespaces), in request order. */
  features: Element[];
}

/** What Bind 2 needs from the stream: the same binding and XEP-0198 enabling as without it. */
export interface Bind2Stream {
  /** Binds `resource`; ends the earlier sessions of the same client (`client`) first. */
  bind(resource: string, client: string | undefined): Promise<SessionInfo | StanzaError>;
  /** XEP-0198 <enable/> for the session just bound: <enabled/> or <failed/>. */
  enableSm(request: Element): Element;
}

/** The feature inside SASL2's <inline/>, listing what can be enabled inline (§2.1). */
export function bind2Feature(inlineVars: readonly string[]): Element {
  return el('bind', { xmlns: NS_BIND2 }, el('inline', {}, ...inlineVars.map((v) => el('feature', { var: v }))));
}

/** Parses <bind/> (its own children: at most one <tag/>); a string says what is wrong. */
export function parseBind2(bind: Element): Bind2Request | string {
  let tag: string | undefined;
  const features: Element[] = [];
  const seen = new Set<string>();
  for (const child of bind.children) {
    if (typeof child === 'string') continue;
    const ns = child.attrs['xmlns'] ?? NS_BIND2;
    if (ns === NS_BIND2) {
      if (child.name !== 'tag' || tag !== undefined) return `Unexpected <${child.name}/> in <bind/>`;
      tag = child.text().trim();
      if (tag === '') return 'An empty <tag/>';
      continue;
    }
    // One request per feature: two of the same (e.g. <active/> and <inactive/>) contradict.
    if (seen.has(ns)) return `Two requests for ${ns}`;
    seen.add(ns);
    features.push(child);
  }
  return { tag, features };
}

/**
 * §2.2.1: `[tag]/[server part]`. With a <user-agent id> the server part is a keyed hash of
 * account, id and tag, so the client gets the same resource each time without the id showing;
 * without one it is random. Undefined when the result is not a valid resourcepart.
 */
export function bind2Resource(secret: Buffer, host: string, user: string, userAgentId: string | undefined, tag: string | undefined): string | undefined {
  const part = userAgentId === undefined
    ? randomBytes(9).toString('base64url')
    : createHmac('sha256', secret).update(`bind2\0${host}\0${user}\0${userAgentId}\0${tag ?? ''}`).digest('base64url').slice(0, 12);
  try {
    return prepResourcepart(tag === undefined ? part : `${tag}/${part}`);
  } catch {
    return undefined;
  }
}

/**
 * Binds and enables the requested features, in that order (§2.2): XEP-0198 answers in <bound/>
 * with <enabled/> or <failed/>; module features (carbons, CSI) through their handlers. Requests
 * for features not offered are left out, as unknown extensions are.
 */
export async function bind2(stream: Bind2Stream, handlers: ReadonlyMap<string, Bind2Handler>, req: Bind2Request, resource: string, client: string | undefined): Promise<{ session: SessionInfo; bound: Element } | { error: StanzaError }> {
  const bound = await stream.bind(resource, client);
  if (bound instanceof StanzaError) return { error: bound };
  const answers: Element[] = [];
  for (const feature of req.features) {
    const ns = feature.attrs['xmlns'] ?? '';
    if (ns === NS_SM) {
      if (feature.name === 'enable') answers.push(stream.enableSm(feature));
      continue;
    }
    const answer = handlers.get(ns)?.(bound, feature);
    if (answer) answers.push(answer);
  }
  return { session: bound, bound: el('bound', { xmlns: NS_BIND2 }, ...answers) };
}
