// XEP-0280 Message Carbons (v0.11.0), with the XEP-0334 <no-copy/> hint: every carbons-enabled
// client of an account sees both sides of its conversations, as copies wrapped in XEP-0297
// <forwarded/>, from the account's bare JID.
import { defineModule } from '../../core/modules.ts';
import { StanzaError } from '../../core/errors.ts';
import type { SessionInfo } from '../../core/session.ts';
import { Element } from '../../core/xml/element.ts';
import { carbonsEligible, NS_CARBONS, wrapCarbon } from './rules.ts';

export { NS_CARBONS } from './rules.ts';

/** One routed message to one account: who got the original (§7: they get no copy). */
interface Delivery {
  account: string;
  copy: boolean;
  recipients: Set<string>;
}

export const carbons = defineModule({
  name: 'carbons',
  description: 'Copies each chat message an account sends or receives to its other clients that ask for it (XEP-0280 Message Carbons), honouring <private/> and the <no-copy/> hint (XEP-0334).',
  stores: {},
  enabledByDefault: true,
  xeps: [
    { number: 280, version: '0.11.0' },
    { number: 334, version: '0.2', status: 'partial', note: 'This module honours <no-copy/>; <no-store/> and <store/> are honoured by the offline module (src/modules/offline/storable.ts); <no-store/>, <no-permanent-store/> and <store/> by the opt-in mam archive (src/modules/mam/archivable.ts).' },
  ],
  options: {},
  setup(ctx) {
    /** §4/§5: whether each session enabled carbons; a stream starts disabled. */
    const enabled = ctx.sessionState<true>();
    /** Sessions with carbons on, per account ("user@host"): the stanza path asks this first, so accounts without carbons pay nothing. */
    const perAccount = new Map<string, number>();
    const count = (s: SessionInfo, delta: number): void => {
      const key = s.jid.bareString;
      const n = (perAccount.get(key) ?? 0) + delta;
      if (n > 0) perAccount.set(key, n);
      else perAccount.delete(key);
    };
    // §3: the feature of the server.
    ctx.disco.addFeature(NS_CARBONS);

    /**
     * §4 enable, §5 disable: from the client itself, about itself; repeated requests are no-ops
     * (§9.1). An IQ without 'to' is addressed to the account, one to the domain to the host.
     */
    const toggle = (on: boolean) => ({ origin, isSelf, to }: { origin: SessionInfo | undefined; isSelf: boolean; to: { local: string } }): undefined => {
      // §4.1/§5.1: <not-allowed/> for a request that is not from a client of this server (or is
      // about another account).
      if (!origin || (to.local !== '' && !isSelf)) throw new StanzaError('not-allowed');
      const was = enabled.get(origin) === true;
      if (on && !was) {
        enabled.set(origin, true);
        count(origin, 1);
      } else if (!on && was) {
        enabled.delete(origin);
        count(origin, -1);
      }
      return undefined;
    };
    for (const target of ['account', 'host'] as const) {
      ctx.iq.set(target, NS_CARBONS, 'enable', toggle(true));
      ctx.iq.set(target, NS_CARBONS, 'disable', toggle(false));
    }
    // XEP-0386 §2.2: <enable/> inside a Bind 2 request enables carbons for the new session; it
    // "MUST succeed, no response is necessary".
    ctx.streamFeatures.inline(NS_CARBONS, (session, request) => {
      if (request.name === 'enable') toggle(true)({ origin: session, isSelf: true, to: { local: '' } });
      return undefined;
    });

    /** Hands one copy to each carbons-enabled session of the account but those in `skip`. */
    const copyTo = async (kind: 'sent' | 'received', message: Element, host: string, user: string, skip: (s: SessionInfo) => boolean): Promise<void> => {
      for (const s of ctx.sessions.resources(host, user)) {
        if (!enabled.get(s) || skip(s)) continue;
        // A copy that is not taken (closed, backed up) is dropped: §9.3, no error goes anywhere.
        await ctx.deliver(wrapCarbon(kind, message, s.jid), s).catch((err: unknown) => ctx.log.warn({ err }, 'carbon copy failed'));
      }
    };

    // §7 Sending: a copy to each other carbons-enabled resource of the sender, whether or not
    // the sender enabled carbons; never to the sender itself nor to a resource the message is
    // addressed to. After the outbound filters (a message blocking stops is not copied).
    ctx.hooks.on('session/closed', ({ session }) => {
      if (enabled.get(session) === true) count(session, -1);
    });

    ctx.hooks.on('stanza/outbound', async ({ stanza, from, to, origin }) => {
      if (!origin || !perAccount.has(origin.jid.bareString) || !carbonsEligible(stanza)) return false;
      const sender = origin.jid.toString();
      const target = to.toString();
      const inner = stanza.attrs['to'] === undefined ? new Element(stanza.name, { ...stanza.attrs, to: target }, stanza.children) : stanza;
      await copyTo('sent', inner, from.domain, from.local, (s) => s.jid.toString() === sender || s.jid.toString() === target);
      return false;
    }, 'last');

    // §6 Receiving: after the message is handed to the resource(s) RFC 6121 picks, a copy to each
    // other carbons-enabled resource of the recipient. Watched at the router's hand-off (before
    // anything may hold it), so the copies skip exactly the resources that got the original.
    const deliveries = new WeakMap<Element, Delivery>();
    ctx.hooks.on('stanza/deliver', ({ stanza, session }) => {
      if (stanza.name !== 'message') return false;
      const account = session.jid.bareString;
      // Nobody of this account takes copies: nothing to do (but <private/> still goes, §8).
      if (!perAccount.has(account)) {
        if (stanza.getChild('private', NS_CARBONS)) stanza.removeChildren('private', NS_CARBONS);
        return false;
      }
      let d = deliveries.get(stanza);
      if (!d) {
        const from = stanza.attrs['from'] ?? '';
        const fromBare = from.includes('/') ? from.slice(0, from.indexOf('/')) : from;
        // Messages between resources of one account are covered by the sent copies (§7).
        d = { account, copy: carbonsEligible(stanza) && fromBare !== account, recipients: new Set() };
        deliveries.set(stanza, d);
        if (d.copy) {
          const delivery = d;
          // Once the router has handed this message to every resource it picked (the hand-off
          // handlers run synchronously, so they have all run by the next turn of the event loop).
          setImmediate(() => void copyTo('received', stanza, session.host, session.user, (s) => delivery.recipients.has(s.jid.toString())));
        }
      }
      if (d.account !== account) return false;
      d.recipients.add(session.jid.toString());
      // §8: "the receiving server SHOULD remove the <private/> element before delivering".
      if (stanza.getChild('private', NS_CARBONS)) stanza.removeChildren('private', NS_CARBONS);
      return false;
    }, 'early');
  },
});
