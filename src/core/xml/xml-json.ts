// XML elements as JSON trees, for storing stanzas and payloads (vCards, private XML, offline
// messages) through the JSON-only stores: no re-parsing, and an exact round trip of every Element.
import { Element, type Node } from './element.ts';

/** An element as stored: name, literal attributes (namespaces are `xmlns` attributes) and children. */
export type XmlJson = { name: string; attrs: Record<string, string>; children: XmlJsonNode[] };
export type XmlJsonNode = string | XmlJson;

/**
 * Stored trees come from our own writes, but a damaged or hand-edited store must not overflow the
 * stack: deeper than this is refused (the stream parser caps stanzas at 100 levels anyway).
 */
const MAX_DEPTH = 1000;

export function elementToJson(el: Element): XmlJson {
  const attrs: Record<string, string> = {};
  for (const k in el.attrs) {
    const v = el.attrs[k];
    // An undefined value is never serialized (Element.toString skips it), so it is not stored either.
    if (v !== undefined) attrs[k] = v;
  }
  return { name: el.name, attrs, children: el.children.map((c) => (typeof c === 'string' ? c : elementToJson(c))) };
}

/** Rebuilds an Element; throws TypeError when the value is not a tree written by elementToJson. */
export function elementFromJson(value: unknown): Element {
  return build(value, 0);
}

function build(value: unknown, depth: number): Element {
  if (depth > MAX_DEPTH) throw new TypeError('xml-json: tree too deep');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('xml-json: expected an element object');
  const { name, attrs, children } = value as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') throw new TypeError('xml-json: element without a name');
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) throw new TypeError(`xml-json: <${name}> has no attribute map`);
  if (!Array.isArray(children)) throw new TypeError(`xml-json: <${name}> has no children list`);
  const outAttrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v !== 'string') throw new TypeError(`xml-json: attribute ${k} of <${name}> is not a string`);
    outAttrs[k] = v;
  }
  const outChildren: Node[] = children.map((c: unknown) => (typeof c === 'string' ? c : build(c, depth + 1)));
  return new Element(name, outAttrs, outChildren);
}
