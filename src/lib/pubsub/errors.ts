// XEP-0060 errors: an XMPP condition with the pubsub#errors application condition (§6-§8 list
// which pair each case answers).
import { StanzaError, type StanzaErrorCondition } from '../../core/errors.ts';
import { el } from '../../core/xml/element.ts';
import { NS_PUBSUB_ERRORS } from './api.ts';

/** The pubsub#errors conditions (XEP-0060 §17.2 schema) the engine uses. */
export type PubsubCondition =
  | 'closed-node' | 'invalid-jid' | 'invalid-options' | 'invalid-payload' | 'invalid-subid' | 'item-forbidden'
  | 'item-required' | 'jid-required' | 'max-items-exceeded' | 'max-nodes-exceeded' | 'nodeid-required'
  | 'not-in-roster-group' | 'not-subscribed' | 'payload-too-big' | 'payload-required' | 'precondition-not-met'
  | 'presence-subscription-required' | 'subid-required' | 'too-many-subscriptions' | 'unsupported';

/** `feature`: for <unsupported feature='...'/>. */
export function pubsubError(condition: StanzaErrorCondition, app: PubsubCondition | undefined, text?: string, feature?: string): StanzaError {
  const appEl = app ? el(app, { xmlns: NS_PUBSUB_ERRORS, feature }) : undefined;
  return new StanzaError(condition, text, undefined, appEl);
}

export const preconditionNotMet = (text?: string): StanzaError => pubsubError('conflict', 'precondition-not-met', text);
export const notAcceptable = (text?: string): StanzaError => pubsubError('not-acceptable', undefined, text);
export const nodeIdRequired = (): StanzaError => pubsubError('bad-request', 'nodeid-required', 'The request names no node');
export const noSuchNode = (): StanzaError => pubsubError('item-not-found', undefined, 'No such node');
export const unsupported = (feature: string, text?: string): StanzaError => pubsubError('feature-not-implemented', 'unsupported', text, feature);
