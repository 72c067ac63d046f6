// XEP-0398 User Avatar to vCard-Based Avatars Conversion: the vCard PHOTO (XEP-0054/XEP-0153
// clients) and the PEP avatar (XEP-0084 clients) are kept as one, and the account's available
// presence carries the XEP-0153 hash of it. Active when the pep module runs on the host.
import { Buffer } from 'node:buffer';
import type { ModuleContext } from '../../core/modules.ts';
import type { KeyValueStore } from '../../core/storage.ts';
import { StanzaError } from '../../core/errors.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { elementFromJson, elementToJson, type XmlJson } from '../../core/xml/xml-json.ts';
import type { PepService } from '../pep/api.ts';
import { BoundedLru } from '../../lib/bounded-lru.ts';
import {
  NS_AVATAR_DATA,
  NS_AVATAR_METADATA,
  NS_VCARD_UPDATE,
  avatarFromData,
  dataPayload,
  metadataPayload,
  photoOfVcard,
  storedInfo,
  vcardWithPhoto,
  type Avatar,
} from './avatar-format.ts';

export const NS_CONVERSION = 'urn:xmpp:pep-vcard-conversion:0';

/**
 * Accounts whose avatar hash is remembered for presence, and accounts already checked for a
 * vCard photo to move to PEP since start; the least recently used is forgotten beyond it (re-read
 * on need).
 */
const HASH_CACHE_SIZE = 10_000;

export interface AvatarConversion {
  /** After the account set its vCard over XEP-0054: the PEP avatar follows the PHOTO. */
  vcardSet(user: string, before: Element | undefined, after: Element | undefined): Promise<void>;
  /** Whether `requester` (bare JID) may see the account's avatar, as PEP's access model says. */
  mayViewPhoto(user: string, requester: string): Promise<boolean>;
}

export function setupAvatarConversion(ctx: ModuleContext<{ max_size: number }>, store: KeyValueStore<XmlJson>): AvatarConversion | undefined {
  const pep = ctx.shared.get('pep');
  if (!pep) return undefined;
  // §2: the account (its PEP service) advertises the conversion.
  ctx.disco.addAccountFeature(NS_CONVERSION);
  const hashes = new BoundedLru<string, string>(HASH_CACHE_SIZE);
  const remember = (user: string, hash: string) => hashes.set(user, hash);
  /** Accounts whose old vCard photo was looked for since start: a login needs it only once. */
  const checked = new BoundedLru<string, true>(HASH_CACHE_SIZE);

  /** The current PEP avatar's id ('' for none). */
  const currentHash = async (user: string): Promise<string> => {
    const known = hashes.get(user);
    if (known !== undefined) return known;
    const hash = storedInfo(await lastMetadata(pep, user))?.id ?? '';
    remember(user, hash);
    return hash;
  };

  /** Writes the vCard's PHOTO as `avatar` (removing it when undefined), if it differs. */
  const followPep = async (user: string, avatar: Avatar | undefined) => {
    const raw = await store.get(user);
    const card = raw ? elementFromJson(raw) : el('vCard', { xmlns: 'vcard-temp' });
    if (photoOfVcard(card)?.id === avatar?.id) return;
    const updated = vcardWithPhoto(card, avatar);
    if (Buffer.byteLength(updated.toString()) > ctx.options.max_size) {
      ctx.log.info('PEP avatar larger than vcard.max_size: the vCard keeps its old photo');
      return;
    }
    if (updated.elements.length === 0) await store.delete(user);
    else await store.set(user, elementToJson(updated));
  };

  ctx.hooks.on('pep/published', async ({ user, node, payload }) => {
    if (node !== NS_AVATAR_METADATA) return;
    const info = storedInfo(payload);
    remember(user, info?.id ?? '');
    if (!info) {
      // §4.6 of XEP-0084: empty metadata disables the avatar; a URL-only one has no bytes here.
      if (payload.getChildren('info').length === 0) await followPep(user, undefined);
      return;
    }
    const data = await pep.items(user, NS_AVATAR_DATA, { ids: [info.id] }).catch(() => undefined);
    const avatar = avatarFromData(data?.items[0]?.payload, info);
    if (avatar) await followPep(user, avatar);
  });

  ctx.hooks.on('pep/retracted', async ({ user, node }) => {
    if (node !== NS_AVATAR_METADATA) return;
    hashes.delete(user);
    if ((await currentHash(user)) === '') await followPep(user, undefined);
  });

  ctx.hooks.on('user/deleted', ({ user }) => {
    hashes.delete(user);
    checked.delete(user);
  });

  // A vCard photo stored before the conversion was on (no PEP avatar node yet) is published at the
  // account's next login, so PEP clients see it too.
  ctx.hooks.on('session/bound', ({ session }) => {
    const user = session.jid.local;
    if (checked.get(user)) return;
    checked.set(user, true);
    const migrate = async () => {
      if ((await currentHash(user)) !== '' || (await pep.nodeConfig(user, NS_AVATAR_METADATA))) return;
      const raw = await store.get(user);
      const photo = photoOfVcard(raw ? elementFromJson(raw) : undefined);
      if (!photo) return;
      await publishAvatar(pep, user, photo);
      remember(user, photo.id);
    };
    void migrate().catch((err: unknown) => {
      checked.delete(user);
      ctx.log.warn({ err }, 'vCard photo not moved to a PEP avatar');
    });
  });

  // §4 (Presence Broadcast): every available presence, broadcast or directed (MUC joins), carries
  // the hash, except one whose <x/> holds an empty <photo/> (the client says "no avatar here"); an
  // <x/> without <photo/> is overwritten, and so is a different hash (MAY), as the server knows better.
  const stamp = async (user: string, stanza: Element) => {
    if (stanza.attrs['type'] !== undefined) return;
    const sent = stanza.getChild('x', NS_VCARD_UPDATE);
    const photo = sent?.getChild('photo');
    if (photo && photo.text().trim() === '') return;
    const hash = await currentHash(user);
    if (hash === '') return;
    stanza.removeChildren('x', NS_VCARD_UPDATE);
    stanza.append(el('x', { xmlns: NS_VCARD_UPDATE }, el('photo', {}, hash)));
  };
  ctx.hooks.on('presence/broadcast', async ({ stanza, from }) => void (await stamp(from.local, stanza)), 'first');
  ctx.hooks.on(
    'stanza/outbound',
    async ({ stanza, from }) => {
      if (stanza.name === 'presence') await stamp(from.local, stanza);
    },
    'first',
  );

  return {
    async vcardSet(user, before, after) {
      const photo = photoOfVcard(after);
      if (!photo) {
        // A vCard without PHOTO removes the avatar only if it had one: a client that never knew of
        // the PEP avatar does not wipe it.
        if (photoOfVcard(before) && (await currentHash(user)) !== '') await publishAvatar(pep, user, undefined);
        remember(user, '');
        return;
      }
      if ((await currentHash(user)) === photo.id) return;
      await publishAvatar(pep, user, photo);
      remember(user, photo.id);
    },
    async mayViewPhoto(user, requester) {
      if (requester === `${user}@${ctx.host}`) return true;
      const config = await pep.nodeConfig(user, NS_AVATAR_METADATA);
      if (!config || config.accessModel === 'open') return true;
      const roster = ctx.shared.get('roster');
      if (!roster) return false;
      const rel = await roster.relation(user, requester);
      if (config.accessModel === 'presence') return rel.subscription === 'from' || rel.subscription === 'both';
      if (config.accessModel === 'roster') return rel.groups.some((g) => config.rosterGroupsAllowed.includes(g));
      return false;
    },
  };
}

async function lastMetadata(pep: PepService, user: string): Promise<Element | undefined> {
  try {
    return (await pep.items(user, NS_AVATAR_METADATA, { max: 1 })).items[0]?.payload;
  } catch (err) {
    if (err instanceof StanzaError) return undefined;
    throw err;
  }
}

/**
 * XEP-0084 §4.1-§4.2 (data first, then the metadata pointing to it) or §4.6 (empty metadata). A
 * new node is open, as the vCard it comes from is public (XEP-0054).
 */
async function publishAvatar(pep: PepService, user: string, avatar: Avatar | undefined): Promise<void> {
  const optionsFor = async (node: string) => ((await pep.nodeConfig(user, node)) ? undefined : { accessModel: 'open' as const });
  if (avatar) await pep.publish(user, NS_AVATAR_DATA, { id: avatar.id, payload: dataPayload(avatar) }, await optionsFor(NS_AVATAR_DATA));
  await pep.publish(user, NS_AVATAR_METADATA, { id: avatar?.id ?? 'current', payload: metadataPayload(avatar) }, await optionsFor(NS_AVATAR_METADATA));
}
