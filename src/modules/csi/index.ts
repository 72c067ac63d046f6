// XEP-0352 Client State Indication (v0.2): while a client says it is inactive, the server holds
// back what can wait (presence updates, chat states) and sends it all, in order, as soon as
// something important comes or the client is active again.
import { defineModule } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import { el } from '../../core/xml/element.ts';
import { holdKey } from './importance.ts';

export const NS_CSI = 'urn:xmpp:csi:0';

interface Held {
  /** In arrival order; a later stanza with the same key replaces the earlier one and moves last. */
  readonly stanzas: Map<string, () => boolean>;
}

export const csi = defineModule({
  name: 'csi',
  description: 'Holds back presence updates and typing notifications while a client says it is inactive, such as a phone with its screen off (XEP-0352), and sends them at once with the next thing that matters.',
  stores: {},
  enabledByDefault: true,
  xeps: [{ number: 352, version: '0.2' }],
  options: {
    max_held: option.integer(100, 'Stanzas held back per inactive client (the latest presence of each contact resource, the latest chat state of each sender); one more, and everything held is sent.', { min: 1, max: 10_000 }),
  },
  setup(ctx) {
    const { max_held: maxHeld } = ctx.options;
    /** Present while the session is inactive; forgotten (with what it holds) when it closes. */
    const inactive = ctx.sessionState<Held>();

    /** Sends everything held, oldest first; the session is still inactive unless the caller ends it. */
    const flush = (held: Held): void => {
      const release = [...held.stanzas.values()];
      held.stanzas.clear();
      // A session that is gone or backed up refuses: presence and chat states can be lost.
      for (const send of release) send();
    };

    // §3.1: offered after authentication.
    ctx.streamFeatures.add(() => el('csi', { xmlns: NS_CSI }));

    // XEP-0386 §2.2: <active/> or <inactive/> inside a Bind 2 request: the session begins in that state.
    ctx.streamFeatures.inline(NS_CSI, (session, request) => {
      if (request.name === 'inactive' && !inactive.get(session)) inactive.set(session, { stanzas: new Map() });
      return undefined;
    });

    // §3.2: <inactive/> and <active/>, no reply; §4.1: handled before the next element is read.
    ctx.hooks.on('stream/nonza', ({ session, element }) => {
      if (element.attrs['xmlns'] !== NS_CSI) return false;
      if (element.name === 'inactive') {
        if (!inactive.get(session)) inactive.set(session, { stanzas: new Map() });
        return true;
      }
      if (element.name === 'active') {
        const held = inactive.get(session);
        inactive.delete(session);
        if (held) flush(held);
        return true;
      }
      return false;
    });

    // Every stanza handed to an inactive session: held when it can wait, else it goes out right
    // after everything held so far (in order).
    ctx.hooks.on('stanza/deliver', ({ stanza, session, release }) => {
      const held = inactive.get(session);
      if (!held) return false;
      const key = holdKey(stanza, session.jid.toString());
      if (key === undefined) {
        flush(held);
        return false;
      }
      held.stanzas.delete(key);
      held.stanzas.set(key, release);
      if (held.stanzas.size > maxHeld) flush(held);
      return true;
    }, 'late');
  },
});
