// End-to-end encryption policy: one-to-one chat messages must be OMEMO or OpenPGP encrypted on
// this host. A plaintext one bounces to its sender with <policy-violation/> (RFC 6120 §8.3.3.12),
// checked when a local client sends it and when it arrives for an account here from another
// domain. Nothing of the refused message is kept or logged.
import { defineModule, type ModuleContext } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import { StanzaError } from '../../core/errors.ts';
import { errorReply } from '../../core/stanza-errors.ts';
import { Element } from '../../core/xml/element.ts';
import type { Jid } from '../../core/jid.ts';
import type { StanzaEvent } from '../../core/hooks.ts';
import { isAcceptable, isOneToOne } from './rules.ts';

export const E2E_POLICY_TEXT = 'This service requires end-to-end encryption (OMEMO or OpenPGP) for one-to-one chats';
export const E2E_POLICY_TEXT_RECIPIENT = "The recipient's service requires end-to-end encryption (OMEMO or OpenPGP) for one-to-one chats";

type Options = { require_for_chat: boolean };

/** The server itself or one of its services (conference., upload., ...): not a one-to-one chat. */
function isServer(ctx: ModuleContext<Options>, jid: Jid): boolean {
  if (ctx.server.isServiceDomain?.(jid.domain)) return true;
  return jid.local === '' && (ctx.server.isLocalHost(jid.domain) || jid.domain === ctx.host);
}

function refused(ctx: ModuleContext<Options>, { stanza, from, to }: StanzaEvent): boolean {
  if (!isOneToOne(stanza) || isServer(ctx, from) || isServer(ctx, to)) return false;
  return !isAcceptable(stanza);
}

/** The error to the sender, without the message's contents (RFC 6120 §8.3.1 allows leaving them out). */
async function bounce(ctx: ModuleContext<Options>, { stanza, from, to }: StanzaEvent, text: string): Promise<void> {
  const error = new StanzaError('policy-violation', text, 'modify');
  await ctx.route(errorReply(new Element('message', stanza.attrs), error, { from: to.toString(), to: from.toString() }));
}

export const e2ePolicy = defineModule({
  name: 'e2e-policy',
  description: 'Requires end-to-end encryption (OMEMO or OpenPGP, XEP-0380 aware) for one-to-one chat messages on the host: a plaintext one bounces with <policy-violation/>; group chats, the server and its services are exempt.',
  stores: {},
  enabledByDefault: false,
  xeps: [{ number: 380, version: '0.4.0', status: 'partial', note: 'read to tell which scheme a message uses; the server sends no EME itself' }],
  options: {
    require_for_chat: option.boolean(true, 'refuse one-to-one messages (type chat or normal) with a plaintext body and no OMEMO or OpenPGP payload, sent by local users or arriving for them from other domains'),
  },
  setup(ctx) {
    if (!ctx.options.require_for_chat) return;
    // Early: before carbons copy it or offline storage keeps it.
    ctx.hooks.on('stanza/outbound', async (ev) => {
      if (ev.stanza.name !== 'message' || !refused(ctx, ev)) return;
      await bounce(ctx, ev, E2E_POLICY_TEXT);
      return true;
    }, 'early');
    // From another domain (local or not): its sender's host may not require it. Our own users'
    // messages were checked as they left.
    ctx.hooks.on('stanza/inbound', async (ev) => {
      if (ev.stanza.name !== 'message' || ev.from.domain === ctx.host || !refused(ctx, ev)) return;
      await bounce(ctx, ev, E2E_POLICY_TEXT_RECIPIENT);
      return true;
    }, 'early');
  },
});
