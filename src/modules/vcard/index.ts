// XEP-0054 vcard-temp: each account stores one vCard; the server answers for the account (§3.3).
import { Buffer } from 'node:buffer';
import { defineModule } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import { el } from '../../core/xml/element.ts';
import { StanzaError, forbidden, itemNotFound } from '../../core/errors.ts';
import { elementFromJson, elementToJson, type XmlJson } from '../../core/xml/xml-json.ts';
import { setupAvatarConversion } from './avatar-conversion.ts';

export const NS_VCARD = 'vcard-temp';

export const vcard = defineModule({
  name: 'vcard',
  description: 'Stores each account\'s vCard (XEP-0054) and shows it to whoever asks, as the XEP says vCards are public; with the pep module, its photo and the PEP avatar are kept as one (XEP-0398).',
  stores: {
    vcard: {
      kind: 'keyval',
      what: 'Profile (vCard)',
      detail: 'what your client publishes as your profile, including any avatar; profiles are public: anyone who asks the server can read them, except a photo that is also your PEP avatar, shown only to those the avatar is shared with',
    },
  },
  enabledByDefault: true,
  xeps: [
    { number: 54, version: '1.2' },
    { number: 153, version: '1.1', note: 'with the pep module, the photo hash is put into the account\'s presence (vcard-temp:x:update) as XEP-0398 says' },
    { number: 398, version: '1.0.0', note: 'with the pep module: the vCard PHOTO shows only to those the PEP avatar\'s access model lets in' },
  ],
  // XEP-0398 conversion with PEP avatars when the pep module runs on the host.
  after: ['pep'],
  options: {
    max_size: option.size('64KiB', 'Largest vCard accepted, serialized (avatars in <PHOTO/> make up most of it).', { min: 1024 }),
  },
  setup(ctx) {
    const store = ctx.store.keyval<XmlJson>('vcard');
    const max = ctx.options.max_size;
    // §4: "If an entity supports the vcard-temp protocol, it MUST report that" (server and accounts).
    ctx.disco.addFeature(NS_VCARD);
    ctx.disco.addAccountFeature(NS_VCARD);
    const conversion = setupAvatarConversion(ctx, store);

    // §3.1 own vCard (no 'to') and §3.3 another user's: a bare JID of this host, answered by the server.
    ctx.iq.get('account', NS_VCARD, 'vCard', async ({ to, from, isSelf }) => {
      const stored = await store.get(to.local);
      if (stored) {
        const card = elementFromJson(stored);
        // A PEP avatar keeps its access model in its vCard copy (XEP-0398 §6's privacy concern).
        if (!isSelf && conversion && !(await conversion.mayViewPhoto(to.local, from.bareString))) return card.removeChildren('PHOTO');
        return card;
      }
      // §3.1: the empty element for oneself; §3.3: "If no vCard exists ... MUST return a stanza error".
      if (isSelf) return el('vCard', { xmlns: NS_VCARD });
      throw itemNotFound();
    });

    ctx.iq.set('account', NS_VCARD, 'vCard', async ({ to, isSelf, payload }) => {
      // §3.2: setting another entity's vCard "MUST return a stanza error, which SHOULD be <forbidden/>".
      if (!isSelf) throw forbidden('Only the owner can change a vCard');
      if (Buffer.byteLength(payload.toString()) > max) {
        // The client can shrink the photo and retry, hence a modify-type condition.
        throw new StanzaError('not-acceptable', `The vCard is larger than ${max} bytes`);
      }
      // An empty vCard means "no vCard": nothing is kept.
      const before = conversion ? await store.get(to.local) : undefined;
      if (payload.elements.length === 0) await store.delete(to.local);
      else await store.set(to.local, elementToJson(payload));
      // The vCard is stored either way; a PEP refusal (e.g. its item size limit) is only logged.
      await conversion?.vcardSet(to.local, before ? elementFromJson(before) : undefined, payload).catch((err: unknown) => ctx.log.warn({ err }, 'vCard photo not converted to a PEP avatar'));
      return undefined;
    });

    // XEP-0227: the vCard goes along as it is stored.
    ctx.hooks.on('user/export', async ({ user, add }) => {
      const stored = await store.get(user);
      if (stored) add(elementFromJson(stored));
    });
    ctx.hooks.on('user/import', async ({ user, elements }) => {
      const card = elements.find((e) => e.name === 'vCard' && e.attrs['xmlns'] === NS_VCARD);
      if (!card || card.elements.length === 0) return;
      if (Buffer.byteLength(card.toString()) > max) throw new Error(`vCard: larger than vcard.max_size (${max} bytes)`);
      await store.set(user, elementToJson(card));
    });
  },
});
