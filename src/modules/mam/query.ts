// XEP-0313 §4 queries as a client sends them: the XEP-0004 form (§4.1: with, start, end and the
// #extended before-id, after-id, ids), XEP-0059 RSM (max, after, before) and <flip-page/>, read into
// one MamQuery or refused with the error the XEPs name.
import { el, type Element } from '../../core/xml/element.ts';
import { tryParseJid, type Jid } from '../../core/jid.ts';
import { StanzaError } from '../../core/errors.ts';
import { buildForm, FormError, NS_DATA, parseForm } from '../../lib/data-form.ts';
import { NS_MAM } from './prefs.ts';

export const NS_RSM = 'http://jabber.org/protocol/rsm';

export interface MamQuery {
  with?: Jid;
  /** Milliseconds; inclusive bounds (§4.1.2: "equal to or later", "equal to or earlier"). */
  start?: number;
  end?: number;
  beforeId?: string;
  afterId?: string;
  ids?: string[];
  /** Page size, already capped to the server's limit. */
  max: number;
  /** RSM <after/>. */
  after?: string;
  /** RSM <before/>: '' (empty) asks for the last page. */
  before?: string;
  flip: boolean;
}

export interface PageLimits {
  /** Used when the client gives no <max/>. */
  pageSize: number;
  /** Largest page sent; a larger <max/> gets this many and an incomplete <fin/> (§4.3.1). */
  maxPageSize: number;
}

const FIELDS = new Set(['FORM_TYPE', 'with', 'start', 'end', 'before-id', 'after-id', 'ids']);

/** XEP-0082 DateTime: CCYY-MM-DDThh:mm:ss[.sss]TZD. */
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function dateField(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!DATETIME.test(value) || !Number.isFinite(t)) throw new StanzaError('bad-request', `The '${name}' field must be a XEP-0082 DateTime, e.g. 2026-01-31T12:00:00Z`);
  return t;
}

/**
 * §4.1.5: the fields this server understands, for an IQ get of <query/>; 'ids' carries the XEP-0122
 * <validate/> with <open/>, since its values are not listed.
 */
export function queryForm(): Element {
  const form = buildForm({
    type: 'form',
    formType: NS_MAM,
    fields: [
      { var: 'with', type: 'jid-single' },
      { var: 'start', type: 'text-single' },
      { var: 'end', type: 'text-single' },
      { var: 'before-id', type: 'text-single' },
      { var: 'after-id', type: 'text-single' },
      { var: 'ids', type: 'list-multi' },
    ],
  });
  const ids = form.getChildren('field').find((f) => f.attrs['var'] === 'ids');
  ids?.append(el('validate', { xmlns: 'http://jabber.org/protocol/xdata-validate', datatype: 'xs:string' }, el('open')));
  return form;
}

function readForm(q: MamQuery, x: Element, limits: PageLimits): void {
  let form;
  try {
    form = parseForm(x);
  } catch (e) {
    if (e instanceof FormError) throw new StanzaError('bad-request', e.message);
    throw e;
  }
  if (form.type !== 'submit') throw new StanzaError('bad-request', "The query form must be of type 'submit'");
  if (form.formType !== NS_MAM) throw new StanzaError('bad-request', `The query form's FORM_TYPE must be ${NS_MAM}`);
  for (const f of x.getChildren('field')) {
    const name = f.attrs['var'];
    // §4.1.5: "If a client includes a form field that the server does not recognise, the server
    // MUST respond with a 'feature-not-implemented' error."
    if (name !== undefined && !FIELDS.has(name)) throw new StanzaError('feature-not-implemented', `Unknown query field '${name}'`);
  }
  const withText = form.text('with');
  if (withText !== undefined) {
    const jid = tryParseJid(withText.trim());
    if (!jid) throw new StanzaError('bad-request', "The 'with' field is not a valid JID");
    q.with = jid;
  }
  const start = dateField('start', form.text('start'));
  const end = dateField('end', form.text('end'));
  if (start !== undefined) q.start = start;
  if (end !== undefined) q.end = end;
  const beforeId = form.text('before-id');
  const afterId = form.text('after-id');
  if (beforeId !== undefined) q.beforeId = beforeId;
  if (afterId !== undefined) q.afterId = afterId;
  if (form.has('ids')) {
    const ids = [...new Set(form.list('ids').filter((v) => v !== ''))];
    if (ids.length > limits.maxPageSize) throw new StanzaError('policy-violation', `At most ${limits.maxPageSize} ids in one query`);
    q.ids = ids;
  }
}

function readRsm(q: MamQuery, set: Element, limits: PageLimits): void {
  const max = set.getChild('max');
  if (max) {
    const text = max.text().trim();
    if (!/^\d{1,9}$/.test(text)) throw new StanzaError('bad-request', 'RSM <max/> must be a non-negative integer');
    q.max = Math.min(Number(text), limits.maxPageSize);
  }
  // XEP-0059 §2.6: a server that can't jump to an index "MUST return a <feature-not-implemented/> error".
  if (set.getChild('index')) throw new StanzaError('feature-not-implemented', 'RSM <index/> is not supported; page with <after/> and <before/>');
  const after = set.getChild('after');
  if (after) {
    const id = after.text().trim();
    if (id === '') throw new StanzaError('bad-request', 'RSM <after/> needs an id');
    q.after = id;
  }
  const before = set.getChild('before');
  if (before) q.before = before.text().trim();
}

/** The query of an IQ set; throws the StanzaError to answer with. */
export function parseQuery(query: Element, limits: PageLimits): MamQuery {
  const q: MamQuery = { max: limits.pageSize, flip: false };
  const x = query.getChild('x', NS_DATA);
  if (x) readForm(q, x, limits);
  const set = query.getChild('set', NS_RSM);
  if (set) readRsm(q, set, limits);
  q.flip = query.getChild('flip-page') !== undefined;
  return q;
}
