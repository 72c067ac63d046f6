// XEP-0115 §5.1: the verification string of a disco#info result, and its SHA-1 hash (§5.1 step
// 9: base64 of the hash). Used for the server's own caps and to verify what clients announce.
import { createHash } from 'node:crypto';

/** The server's node URI (§4: "a URI that uniquely identifies a software application"). */
export const CAPS_NODE = 'https://github.com/jabberx/jabberx';

export interface CapsIdentity {
  category: string;
  type: string;
  lang?: string;
  name?: string;
}

/** A XEP-0128 form: its FORM_TYPE and its other fields with their values. */
export interface CapsForm {
  formType: string;
  fields: Array<{ name: string; values: string[] }>;
}

/** XEP-0128 forms as the hash reads them: FORM_TYPE, then each field's name and values. */
export function capsForms(forms: Iterable<{ formType: string; fields: readonly { var: string; values: readonly string[] }[] }>): CapsForm[] {
  return [...forms].map((f) => ({ formType: f.formType, fields: f.fields.map((x) => ({ name: x.var, values: [...x.values] })) }));
}

/** §5.1 steps 1–8. Throws on what §5.4 says must make verification fail (duplicates). */
export function verificationString(identities: readonly CapsIdentity[], features: readonly string[], forms: readonly CapsForm[] = []): string {
  const ids = identities.map((i) => `${i.category}/${i.type}/${i.lang ?? ''}/${i.name ?? ''}`);
  if (new Set(ids).size !== ids.length) throw new Error('duplicate identity');
  if (new Set(features).size !== features.length) throw new Error('duplicate feature');
  const types = forms.map((f) => f.formType);
  if (new Set(types).size !== types.length) throw new Error('duplicate FORM_TYPE');
  let s = '';
  for (const id of [...ids].sort(octets)) s += `${id}<`;
  for (const f of [...features].sort(octets)) s += `${f}<`;
  for (const form of [...forms].sort((a, b) => octets(a.formType, b.formType))) {
    s += `${form.formType}<`;
    for (const field of [...form.fields].sort((a, b) => octets(a.name, b.name))) {
      s += `${field.name}<`;
      for (const v of [...field.values].sort(octets)) s += `${v}<`;
    }
  }
  return s;
}

/** The 'ver' attribute for hash='sha-1' (the one hash every entity must support, §5.1). */
export function capsVer(identities: readonly CapsIdentity[], features: readonly string[], forms: readonly CapsForm[] = []): string {
  return createHash('sha1').update(verificationString(identities, features, forms), 'utf8').digest('base64');
}

/** §5.1 "sort ... using 'i;octet' collation": by UTF-8 bytes. */
function octets(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
