// XEP-0191 Blocking Command (version 1.3): the blocklist protocol (§3.1–§3.5) and its enforcement on the
// stanza path (§3.3: inbound stanzas from blocked JIDs, outbound stanzas to them).
import { randomUUID } from 'node:crypto';
import { defineModule, type ModuleContext, type SessionState } from '../../core/modules.ts';
import { errorReply, isAnswerable } from '../../core/stanza-errors.ts';
import { option } from '../../core/options.ts';
import type { Element } from '../../core/xml/element.ts';
import { el } from '../../core/xml/element.ts';
import { StanzaError, badRequest, forbidden } from '../../core/errors.ts';
import { JidError, parseJid, tryParseJid, type Jid } from '../../core/jid.ts';
import type { StanzaEvent } from '../../core/hooks.ts';
import { Blocklists } from './blocklists.ts';
import { NS_PUBSUB_EVENT } from '../../lib/pubsub/api.ts';
import { isAddressItem, isCovered } from './matching.ts';

export const NS_BLOCKING = 'urn:xmpp:blocking';
export const NS_BLOCKING_ERRORS = 'urn:xmpp:blocking:errors';

/**
 * The blocklists of every host this module runs on, so the host of a recipient can ask the host
 * of a local sender whether the sender blocks the recipient (presence sent on the sender's behalf).
 */
const byHost = new Map<string, Blocklists>();

/** Stanzas from the account itself or its own server are never blocked, or the client breaks. */
function isExempt(user: Jid, other: Jid): boolean {
  return other.bare().equals(user.bare()) || (other.local === '' && other.resource === '' && other.domain === user.domain);
}

/** The <item/> JIDs of a block/unblock request, prepared (RFC 7622) for matching. */
function parseItems(payload: Element): string[] {
  const out: string[] = [];
  for (const item of payload.getChildren('item')) {
    const raw = item.attrs['jid'];
    if (raw === undefined) throw badRequest('An <item/> needs a jid attribute');
    try {
      out.push(parseJid(raw).toString());
    } catch (e) {
      if (e instanceof JidError) throw new StanzaError('jid-malformed', `Not a valid JID: ${e.message}`);
      throw e;
    }
  }
  return out;
}

function itemsElement(name: 'block' | 'unblock' | 'blocklist', jids: Iterable<string>): Element {
  return el(name, { xmlns: NS_BLOCKING }, ...[...jids].map((jid) => el('item', { jid })));
}

/** A reply of type error to `ev`'s sender, from its addressee (as RFC 6120 §8.3.1 builds them). */
function replyTo(ev: StanzaEvent, error: StanzaError): Element {
  return errorReply(ev.stanza, error, { from: ev.to.toString(), to: ev.from.toString() });
}

/** Our own <blocked/> answer to a client: it comes "from" the blocked JID and must not be blocked itself. */
function isBlockedNotice(stanza: Element): boolean {
  return stanza.attrs['type'] === 'error' && stanza.getChild('error')?.getChild('blocked', NS_BLOCKING_ERRORS) !== undefined;
}

export const blocking = defineModule({
  name: 'blocking',
  description: 'Lets users block contacts (XEP-0191): nothing from them arrives, nothing goes to them, and they see the user offline.',
  stores: { blocklist: { kind: 'keyval', what: 'Block list', detail: 'the addresses you have blocked' } },
  enabledByDefault: true,
  xeps: [
    {
      number: 191,
      version: '1.3',
      status: 'partial',
      note: 'On unblock the current presence is not re-sent at once (it flows again with the next presence update); on block, unavailable presence goes to the blocked address without a roster subscription check.',
    },
  ],
  options: {
    max_items: option.integer(1000, 'Most JIDs one account may block.', { min: 1, max: 100_000 }),
  },
  setup(ctx) {
    const lists = new Blocklists(ctx.store.keyval<string[]>('blocklist'));
    /** §3.2: resources that retrieved the blocklist get the pushes. */
    const interested = ctx.sessionState<true>();
    byHost.set(ctx.host, lists);
    ctx.onClose(() => void byHost.delete(ctx.host));
    // §3.1: the server "MUST return a feature of urn:xmpp:blocking" (asked of the server; clients
    // also ask their own bare JID, which the server answers).
    ctx.disco.addFeature(NS_BLOCKING);
    ctx.disco.addAccountFeature(NS_BLOCKING);

    // §3.2: retrieving the list makes this resource an "interested resource" for pushes.
    ctx.iq.get('account', NS_BLOCKING, 'blocklist', async ({ to, isSelf, origin }) => {
      if (!isSelf) throw forbidden('A blocklist is private to its account');
      if (origin) interested.set(origin, true);
      return itemsElement('blocklist', await lists.get(to.local));
    });

    ctx.iq.set('account', NS_BLOCKING, 'block', async ({ to, isSelf, payload }) => {
      if (!isSelf) throw forbidden('A blocklist is private to its account');
      const items = parseItems(payload);
      // §3.3: "If the <block/> element does not contain at least one <item/> ... MUST return a <bad-request/>".
      if (items.length === 0) throw badRequest('Name at least one JID to block');
      await lists.lock(to.local, async () => {
        const current = await lists.get(to.local);
        const added = [...new Set(items)].filter((j) => !current.has(j));
        if (current.size + added.length > ctx.options.max_items) {
          throw new StanzaError('policy-violation', `A blocklist holds at most ${ctx.options.max_items} JIDs`);
        }
        // Before the block is in force, or the block itself would stop these goodbyes.
        for (const jid of added) await sayUnavailable(ctx, to, parseJid(jid));
        await lists.set(to.local, new Set([...current, ...added]));
      });
      await push(ctx, interested, to, itemsElement('block', items));
      return undefined;
    });

    ctx.iq.set('account', NS_BLOCKING, 'unblock', async ({ to, isSelf, payload }) => {
      if (!isSelf) throw forbidden('A blocklist is private to its account');
      const items = parseItems(payload);
      await lists.lock(to.local, async () => {
        // §3.5: an empty <unblock/> unblocks everyone.
        const left = new Set(items.length === 0 ? [] : await lists.get(to.local));
        for (const j of items) left.delete(j);
        await lists.set(to.local, left);
      });
      await push(ctx, interested, to, itemsElement('unblock', items));
      return undefined;
    });

    // §3.3: "the user's server MUST NOT route the stanza to the contact but instead MUST return a
    // <not-acceptable/> error containing ... <blocked/>".
    ctx.hooks.on(
      'stanza/outbound',
      async (ev) => {
        if (isExempt(ev.from, ev.to) || !isCovered(await lists.get(ev.from.local), ev.to)) return false;
        // Presence to a blocked contact just doesn't go; an error would only puzzle the client.
        if (ev.stanza.name !== 'presence' && isAnswerable(ev.stanza)) {
          const blocked = new StanzaError('not-acceptable', undefined, 'cancel', el('blocked', { xmlns: NS_BLOCKING_ERRORS }));
          // Straight to the client (not routed: it comes "from" the blocked JID).
          if (ev.origin) await ctx.deliver(replyTo(ev, blocked), ev.origin);
        }
        return true;
      },
      'first',
    );

    ctx.hooks.on(
      'stanza/inbound',
      async (ev) => {
        const { stanza, from, to } = ev;
        if (isBlockedNotice(stanza)) return false;
        if (!isExempt(to, from) && isCovered(await lists.get(to.local), from)) {
          // §3.3: presence: no answer, no error; message: SHOULD be <service-unavailable/>;
          // IQ get/set: MUST be an error, SHOULD be <service-unavailable/>; anything else is dropped.
          if (stanza.name !== 'presence' && isAnswerable(stanza)) await ctx.route(replyTo(ev, new StanzaError('service-unavailable')));
          return true;
        }
        // Presence a local account's server sends on its behalf (broadcasts, probe answers) to a
        // contact that account blocks: the contact must keep seeing it offline. Likewise the
        // account's PEP notifications (XEP-0163): its published data doesn't reach the blocked.
        const onBehalf = stanza.name === 'presence' || (stanza.name === 'message' && stanza.getChild('event', NS_PUBSUB_EVENT) !== undefined);
        if (onBehalf && from.local !== '' && !isExempt(from, to)) {
          const senderLists = byHost.get(from.domain);
          if (senderLists && isCovered(await senderLists.get(from.local), to)) return true;
        }
        return false;
      },
      'first',
    );

    ctx.hooks.on('user/deleted', ({ user }) => lists.forget(user));
    // XEP-0227 defines no blocklist: it goes along as XEP-0191's own <blocklist/>, an extension.
    ctx.hooks.on('user/export', async ({ user, add }) => {
      const items = [...(await lists.get(user))].sort();
      if (items.length > 0) add(itemsElement('blocklist', items));
    });
    ctx.hooks.on('user/import', async ({ user, elements }) => {
      const list = elements.find((e) => e.name === 'blocklist' && e.attrs['xmlns'] === NS_BLOCKING);
      if (!list) return;
      let items: string[];
      try {
        items = parseItems(list);
      } catch (e) {
        throw new Error(`blocklist: ${(e as Error).message}`, { cause: e });
      }
      if (new Set(items).size > ctx.options.max_items) throw new Error(`blocklist: more than blocking.max_items (${ctx.options.max_items}) JIDs`);
      await lists.lock(user, () => lists.set(user, new Set(items)));
    });
  },
});

/**
 * §3.3: blocking a contact "MUST send unavailable presence information to the contact", from each
 * available resource: to the blocked address itself, and to every address covered by the item that
 * a resource sent directed presence to (RFC 6121 §4.6).
 * The subscription check the XEP asks for needs the roster, which another module owns: an
 * unavailable presence only tells the contact what the block will show anyway.
 */
async function sayUnavailable(ctx: ModuleContext<unknown>, user: Jid, item: Jid): Promise<void> {
  const single = new Set([item.toString()]);
  for (const s of ctx.sessions.available(user.domain, user.local)) {
    const targets = new Set<string>();
    if (isAddressItem(item)) targets.add(item.toString());
    // Routing an unavailable presence there also ends the directed presence (the router's).
    for (const d of ctx.directedPresence(s)) {
      const j = tryParseJid(d);
      if (j && isCovered(single, j)) targets.add(d);
    }
    for (const t of targets) await ctx.route(el('presence', { type: 'unavailable', from: s.jid.toString(), to: t }));
  }
}

/** §3.3/§3.4: the change goes to "all of the user's resources that have requested the blocklist". */
async function push(ctx: ModuleContext<unknown>, interested: SessionState<true>, user: Jid, payload: Element): Promise<void> {
  for (const s of ctx.sessions.resources(user.domain, user.local)) {
    if (interested.get(s) !== true) continue;
    await ctx.deliver(el('iq', { type: 'set', id: `push-${randomUUID()}`, to: s.jid.toString() }, payload.clone()));
  }
}
