// The two avatar formats XEP-0398 converts between: a vCard <PHOTO/> (XEP-0054 §2, XEP-0153) and
// the XEP-0084 User Avatar data and metadata items. Pure functions, no I/O.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { el, type Element } from '../../core/xml/element.ts';

export const NS_AVATAR_DATA = 'urn:xmpp:avatar:data';
export const NS_AVATAR_METADATA = 'urn:xmpp:avatar:metadata';
export const NS_VCARD_UPDATE = 'vcard-temp:x:update';

/** An image as both formats carry it; `id` is the SHA-1 of the bytes in hex (XEP-0084 §4.2, XEP-0153 §2). */
export interface Avatar {
  id: string;
  type: string;
  bytes: Buffer;
}

export function avatarOf(bytes: Buffer, type: string): Avatar {
  return { id: createHash('sha1').update(bytes).digest('hex'), type, bytes };
}

/** The vCard's embedded photo (TYPE + BINVAL), if any; an EXTVAL (a URL) is not an image here. */
export function photoOfVcard(vcard: Element | undefined): Avatar | undefined {
  const photo = vcard?.getChild('PHOTO');
  const binval = photo?.getChildText('BINVAL')?.replace(/\s+/g, '');
  if (!photo || !binval) return undefined;
  const bytes = Buffer.from(binval, 'base64');
  if (bytes.length === 0) return undefined;
  return avatarOf(bytes, photo.getChildText('TYPE')?.trim() || 'image/png');
}

/** The vCard with its PHOTO replaced by `avatar` (or removed), everything else as it was. */
export function vcardWithPhoto(vcard: Element, avatar: Avatar | undefined): Element {
  const copy = vcard.clone().removeChildren('PHOTO');
  if (avatar) copy.append(el('PHOTO', {}, el('TYPE', {}, avatar.type), el('BINVAL', {}, avatar.bytes.toString('base64'))));
  return copy;
}

/** Width and height from the image header, for PNG, GIF and JPEG (XEP-0084 §4.2.1: optional). */
export function imageSize(b: Buffer): { width: number; height: number } | undefined {
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString('latin1', 12, 16) === 'IHDR') {
    return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (b.length >= 10 && b.toString('latin1', 0, 4) === 'GIF8') return { width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    // JPEG: walk the segments to the first start-of-frame (SOF0..SOF15 except DHT, JPG, DAC).
    let at = 2;
    while (at + 9 < b.length && b[at] === 0xff) {
      const marker = b[at + 1] ?? 0;
      const length = b.readUInt16BE(at + 2);
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { width: b.readUInt16BE(at + 7), height: b.readUInt16BE(at + 5) };
      }
      at += 2 + length;
    }
  }
  return undefined;
}

/** The XEP-0084 §4.1 data payload. */
export function dataPayload(avatar: Avatar): Element {
  return el('data', { xmlns: NS_AVATAR_DATA }, avatar.bytes.toString('base64'));
}

/** The XEP-0084 §4.2 metadata payload for one image stored in the data node; empty means "no avatar" (§4.6). */
export function metadataPayload(avatar: Avatar | undefined): Element {
  const metadata = el('metadata', { xmlns: NS_AVATAR_METADATA });
  if (!avatar) return metadata;
  const size = imageSize(avatar.bytes);
  return metadata.append(
    el('info', {
      bytes: String(avatar.bytes.length),
      id: avatar.id,
      type: avatar.type,
      width: size ? String(size.width) : undefined,
      height: size ? String(size.height) : undefined,
    }),
  );
}

/** The <info/> of a metadata payload that points to the data node (no 'url'), if any. */
export function storedInfo(metadata: Element | undefined): { id: string; type: string } | undefined {
  for (const info of metadata?.getChildren('info') ?? []) {
    const id = info.attrs['id'];
    if (id && !info.attrs['url']) return { id, type: info.attrs['type'] ?? 'image/png' };
  }
  return undefined;
}

/** The image of a data payload (XEP-0084 §4.1), when it is base64 of the announced hash. */
export function avatarFromData(data: Element | undefined, info: { id: string; type: string }): Avatar | undefined {
  const text = data?.text().replace(/\s+/g, '');
  if (!text) return undefined;
  const avatar = avatarOf(Buffer.from(text, 'base64'), info.type);
  return avatar.id === info.id.toLowerCase() ? avatar : undefined;
}
