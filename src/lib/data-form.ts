// XEP-0004 Data Forms: building forms to send, and reading submitted ones. A form's FORM_TYPE
// (XEP-0068) is the hidden field of that name, placed first.
import { el, type Element } from '../core/xml/element.ts';

export const NS_DATA = 'jabber:x:data';

export type FieldType =
  | 'boolean' | 'fixed' | 'hidden' | 'jid-multi' | 'jid-single' | 'list-multi'
  | 'list-single' | 'text-multi' | 'text-private' | 'text-single';

const FIELD_TYPES: ReadonlySet<string> = new Set<FieldType>([
  'boolean', 'fixed', 'hidden', 'jid-multi', 'jid-single', 'list-multi', 'list-single', 'text-multi', 'text-private', 'text-single',
]);

export type FormType = 'form' | 'submit' | 'cancel' | 'result';

export interface FormField {
  /** Absent only for 'fixed' fields (§3.2). */
  var?: string;
  type?: FieldType;
  label?: string;
  desc?: string;
  required?: boolean;
  values?: readonly string[];
  /** For list-single and list-multi. */
  options?: readonly { label?: string; value: string }[];
}

export interface DataForm {
  type: FormType;
  /** Sent as the hidden FORM_TYPE field (XEP-0068). */
  formType?: string;
  title?: string;
  instructions?: readonly string[];
  fields: readonly FormField[];
}

/** A form that can't be read (§3.3 says the receiver then answers <bad-request/>). */
export class FormError extends Error {}

export function buildForm(form: DataForm): Element {
  const x = el('x', { xmlns: NS_DATA, type: form.type });
  if (form.title !== undefined) x.append(el('title', {}, form.title));
  for (const line of form.instructions ?? []) x.append(el('instructions', {}, line));
  if (form.formType !== undefined) x.append(buildField({ var: 'FORM_TYPE', type: 'hidden', values: [form.formType] }));
  for (const f of form.fields) x.append(buildField(f));
  return x;
}

function buildField(f: FormField): Element {
  return el(
    'field',
    { var: f.var, type: f.type, label: f.label },
    f.desc !== undefined ? el('desc', {}, f.desc) : null,
    f.required ? el('required') : null,
    ...(f.values ?? []).map((v) => el('value', {}, v)),
    ...(f.options ?? []).map((o) => el('option', { label: o.label }, el('value', {}, o.value))),
  );
}

/** The values of a form as received, by field var. */
export class FormValues {
  readonly type: FormType;
  readonly formType: string | undefined;
  readonly #values: ReadonlyMap<string, readonly string[]>;

  constructor(type: FormType, values: ReadonlyMap<string, readonly string[]>) {
    this.type = type;
    this.#values = values;
    this.formType = values.get('FORM_TYPE')?.[0];
  }

  has(name: string): boolean {
    return this.#values.has(name);
  }

  /** The single value of a field (its first), or undefined when absent or empty. */
  text(name: string): string | undefined {
    const v = this.#values.get(name)?.[0];
    return v === '' ? undefined : v;
  }

  /** Every value of a multi-valued field (jid-multi, list-multi, text-multi). */
  list(name: string): readonly string[] {
    return this.#values.get(name) ?? [];
  }

  /** §3.3: "0"/"false" and "1"/"true"; undefined when absent; anything else is a FormError. */
  boolean(name: string): boolean | undefined {
    const v = this.text(name);
    if (v === undefined) return undefined;
    if (v === '1' || v === 'true') return true;
    if (v === '0' || v === 'false') return false;
    throw new FormError(`field ${name} must be true or false`);
  }
}

/** Reads an <x xmlns='jabber:x:data'/> element (bounded by the stanza size limit already). */
export function parseForm(x: Element): FormValues {
  if (x.name !== 'x' || x.attrs['xmlns'] !== NS_DATA) throw new FormError('not a data form');
  const type = x.attrs['type'];
  if (type !== 'form' && type !== 'submit' && type !== 'cancel' && type !== 'result') throw new FormError('the form has no valid type');
  const values = new Map<string, string[]>();
  for (const f of x.getChildren('field')) {
    const name = f.attrs['var'];
    const ftype = f.attrs['type'];
    if (ftype !== undefined && !FIELD_TYPES.has(ftype)) throw new FormError(`field ${name ?? ''} has an unknown type`);
    if (name === undefined) {
      if (ftype === 'fixed') continue;
      throw new FormError('a field has no var');
    }
    if (values.has(name)) throw new FormError(`field ${name} appears twice`);
    values.set(name, f.getChildren('value').map((v) => v.text()));
  }
  return new FormValues(type, values);
}

/** The first data form among an element's children, if any. */
export function findForm(parent: Element): Element | undefined {
  return parent.getChild('x', NS_DATA);
}
