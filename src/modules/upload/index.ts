// XEP-0363 HTTP File Upload (version 1.1.0) on the service domain upload.<host>: slots for local
// accounts over XMPP, the files through the HTTP(S) listeners, sealed at rest (sealed-file.ts),
// deleted after max_age and with their account.
import { defineModule } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { StanzaError, badRequest } from '../../core/errors.ts';
import { errorReply, isAnswerable } from '../../core/stanza-errors.ts';
import type { Jid } from '../../core/jid.ts';
import { FileStore, type OwnedFile, type StoredFile } from './file-store.ts';
import { ROUTE, uploadHandler } from './http.ts';
import { MAX_PENDING_TOTAL, Slots } from './slots.ts';

export const NS_UPLOAD = 'urn:xmpp:http:upload:0';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
const NS_DATA = 'jabber:x:data';
/** The list of a user's files in their export (XEP-0227 defines none). */
export const NS_EXPORT = 'urn:jabberx:upload:0';
const SLOT_LIFETIME_MS = 5 * 60_000;
const MAX_NAME_BYTES = 255;

/** The last path component, without control characters; undefined when nothing usable is left. */
export function sanitizeFilename(raw: string): string | undefined {
  let name = raw.split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  name = name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '').trim();
  while (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) name = [...name].slice(0, -1).join('');
  if (name === '' || name === '.' || name === '..') return undefined;
  return name;
}

/** A media type with optional parameters (RFC 9110 §8.3.1), e.g. `text/plain; charset=utf-8`. */
const TYPE = /^[a-z0-9][\w.+-]*\/[a-z0-9][\w.+-]*(\s*;\s*[\w.+-]+=("[^"\\]*"|[\w.+-]+))*$/;

/** 52428800 -> "50 MiB", 1536 -> "1.5 KiB", 100 -> "100 bytes". */
function sizeText(bytes: number): string {
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 1024]] as const) {
    if (bytes >= size) return `${Math.round((bytes / size) * 10) / 10} ${unit}`;
  }
  return `${bytes} bytes`;
}

export const upload = defineModule({
  name: 'upload',
  description: 'HTTP File Upload (XEP-0363) on upload.<host>: files shared in chats, encrypted at rest, deleted after max_age; anyone with a link can download the file.',
  stores: {
    uploads: {
      kind: 'map',
      what: 'Files you upload',
      detail: 'each file you share through HTTP File Upload (encrypted, under a random name), with its file name, size, type and upload date, until it expires or you delete your account; anyone holding its link can download it',
    },
    // The link token -> file index of the uploads above (what a download looks up).
    'upload-links': { kind: 'keyval', partOf: 'uploads' },
  },
  enabledByDefault: false,
  xeps: [{ number: 363, version: '1.1.0' }],
  options: {
    domain: { ...option.string('', 'the upload service\'s address; empty: `upload.<host>`'), defaultText: 'upload.<host>' },
    base_url: { ...option.string('', 'where the files are reached, e.g. `https://files.example.org` behind a reverse proxy; empty: the https listener, else the http one, at the host\'s name'), defaultText: 'unset (the listener)' },
    max_file_size: option.size('50MiB', 'largest file one upload may hold', { min: 1 }),
    quota: option.size('500MiB', 'most bytes one account may have stored at once (files count until they expire)', { min: 1 }),
    max_age: option.period('14d', 'files are deleted this long after their upload', { min: 1000 }),
    upload_time: option.period('15m', 'longest one upload (PUT) may take to arrive: the web listeners then allow a request this long (other pages keep 15 s for a body)', { min: 15_000, max: 86_400_000 }),
    max_pending_slots: option.integer(10, `upload slots one account may hold unused at once (each valid ${SLOT_LIFETIME_MS / 60_000} min; ${MAX_PENDING_TOTAL} per host in all)`, { min: 1, max: 1000 }),
  },
  setup(ctx) {
    const o = ctx.options;
    const domain = o.domain || `upload.${ctx.host}`;
    const dir = ctx.sealedFiles.dir();
    if (dir === undefined) return;
    const files = new FileStore(dir, ctx.store.keyval<StoredFile>('upload-links'), ctx.store.map<OwnedFile>('uploads'), ctx.sealedFiles);
    const slots = new Slots(o.max_pending_slots, SLOT_LIFETIME_MS);
    ctx.onClose(() => slots.clear());

    ctx.disco.addItem({ jid: domain, name: 'HTTP File Upload' });
    ctx.http.route(ROUTE, uploadHandler({
      slots, files, maxFileSize: o.max_file_size,
      logError: (err) => ctx.log.error({ error: err instanceof Error ? err.name : 'unknown', code: (err as { code?: unknown } | null)?.code }, 'upload: a file could not be stored or served'),
    }), { requestTimeoutMs: o.upload_time });
    ctx.retention('uploads', o.max_age, async (cutoff) => {
      await files.sweepOrphans(o.upload_time + 60_000);
      return files.purgeOlderThan(cutoff);
    });
    ctx.hooks.on('user/deleted', async ({ user }) => {
      slots.dropOwner(user);
      await files.deleteOwner(user);
    });

    const linkBase = (): string => (o.base_url || ctx.http.baseUrl() || '').replace(/\/+$/, '');
    const link = (token: string, name: string): string => `${linkBase()}${ROUTE}/${token}/${encodeURIComponent(name)}`;
    // The user's copy of their data: the list of their files with their links (not the bytes,
    // which the links give). XEP-0227 has no element for it: an extension element of our own.
    ctx.hooks.on('user/export', async ({ user, add }) => {
      const owned = [...(await files.list(user))].sort(([, a], [, b]) => a.created.localeCompare(b.created));
      if (owned.length === 0) return;
      add(el('uploads', { xmlns: NS_EXPORT }, ...owned.map(([token, f]) => el('file', { name: f.name, size: String(f.size), uploaded: f.created, url: link(token, f.name) }))));
    });

    const info = (): Element => el('query', { xmlns: NS_DISCO_INFO },
      el('identity', { category: 'store', type: 'file', name: 'HTTP File Upload' }),
      el('feature', { var: NS_DISCO_INFO }),
      el('feature', { var: NS_DISCO_ITEMS }),
      el('feature', { var: NS_UPLOAD }),
      // XEP-0363 §4 and XEP-0128: the size limit.
      el('x', { xmlns: NS_DATA, type: 'result' },
        el('field', { var: 'FORM_TYPE', type: 'hidden' }, el('value', {}, NS_UPLOAD)),
        el('field', { var: 'max-file-size' }, el('value', {}, String(o.max_file_size)))));

    const requestSlot = async (from: Jid, req: Element): Promise<Element> => {
      if (from.domain !== ctx.host || from.local === '') throw new StanzaError('not-allowed', 'Only accounts of this server can upload files.');
      if (linkBase() === '') throw new StanzaError('service-unavailable', 'The server has no web listener for uploads.');
      const rawName = req.attrs['filename'];
      const rawSize = req.attrs['size'];
      if (rawName === undefined || rawSize === undefined) throw badRequest('A request needs filename and size attributes.');
      const name = sanitizeFilename(rawName);
      if (name === undefined) throw badRequest('The file name is empty or not usable.');
      if (!/^\d{1,15}$/.test(rawSize)) throw badRequest('The size must be a whole number of bytes.');
      const size = Number(rawSize);
      const type = (req.attrs['content-type'] ?? '').trim().toLowerCase();
      if (type !== '' && (type.length > 255 || !TYPE.test(type))) throw badRequest('The content-type is not a media type.');
      if (size > o.max_file_size) {
        throw new StanzaError('not-acceptable', `The file is too large: at most ${sizeText(o.max_file_size)}.`, 'modify',
          el('file-too-large', { xmlns: NS_UPLOAD }, el('max-file-size', {}, String(o.max_file_size))));
      }
      const owner = from.local;
      const used = (await files.used(owner)) + slots.reserved(owner);
      if (used + size > o.quota) {
        throw new StanzaError('resource-constraint', `Your uploads would exceed your quota of ${sizeText(o.quota)}; files are deleted after their retention period.`, 'wait');
      }
      const made = slots.create({ owner, name, size, type });
      if ('full' in made) {
        throw new StanzaError('resource-constraint', made.full === 'user' ? 'Too many upload slots are waiting for their upload; try again in a few minutes.' : 'The upload service is busy; try again in a few minutes.', 'wait');
      }
      const url = link(made.token, name);
      return el('slot', { xmlns: NS_UPLOAD }, el('put', { url }), el('get', { url }));
    };

    ctx.services.claim(domain, async (stanza, from, to) => {
      if (stanza.name !== 'iq') {
        if (stanza.name === 'message' && isAnswerable(stanza)) {
          await ctx.route(errorReply(stanza, new StanzaError('service-unavailable'), { from: to.toString(), to: from.toString() }));
        }
        return;
      }
      const type = stanza.attrs['type'];
      if (type !== 'get' && type !== 'set') return;
      const payload = stanza.elements[0];
      const reply = (result: Element | undefined) => ctx.route(el('iq', { type: 'result', id: stanza.attrs['id'], from: to.toString(), to: from.toString() }, result));
      try {
        if (to.local !== '' || to.resource !== '') throw new StanzaError('service-unavailable');
        if (type === 'get' && payload?.name === 'query' && payload.xmlns === NS_DISCO_INFO) {
          if (payload.attrs['node']) throw new StanzaError('item-not-found');
          return await reply(info());
        }
        if (type === 'get' && payload?.name === 'query' && payload.xmlns === NS_DISCO_ITEMS) return await reply(el('query', { xmlns: NS_DISCO_ITEMS }));
        if (type === 'get' && payload?.name === 'request' && payload.xmlns === NS_UPLOAD) return await reply(await requestSlot(from, payload));
        throw new StanzaError('service-unavailable');
      } catch (err) {
        if (!(err instanceof StanzaError)) throw err;
        await ctx.route(errorReply(stanza, err, { from: to.toString(), to: from.toString() }));
      }
    });
  },
});
