// A compact XML element tree for stanzas. Namespaces are kept as literal `xmlns` attributes:
// a child without one inherits its parent's (RFC 6120 §4.8.3), top-level stanzas inherit the stream's.

export type Attrs = Record<string, string>;
export type Node = Element | string;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes text or attribute content for serialization. */
export function escapeXml(s: string): string {
  return /[&<>"']/.test(s) ? s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c) : s;
}

export class Element {
  name: string;
  attrs: Attrs;
  children: Node[];

  constructor(name: string, attrs: Attrs = {}, children: Node[] = []) {
    this.name = name;
    this.attrs = attrs;
    this.children = children;
  }

  attr(name: string): string | undefined {
    return this.attrs[name];
  }

  get xmlns(): string | undefined {
    return this.attrs['xmlns'];
  }

  /** First child element with this name (and namespace, when given). */
  getChild(name: string, xmlns?: string): Element | undefined {
    for (const c of this.children) {
      if (typeof c !== 'string' && c.name === name && (xmlns === undefined || c.attrs['xmlns'] === xmlns)) return c;
    }
    return undefined;
  }

  getChildren(name?: string, xmlns?: string): Element[] {
    const out: Element[] = [];
    for (const c of this.children) {
      if (typeof c === 'string') continue;
      if (name !== undefined && c.name !== name) continue;
      if (xmlns !== undefined && c.attrs['xmlns'] !== xmlns) continue;
      out.push(c);
    }
    return out;
  }

  /** First child element in the namespace, whatever its name. */
  getChildByNs(xmlns: string): Element | undefined {
    for (const c of this.children) if (typeof c !== 'string' && c.attrs['xmlns'] === xmlns) return c;
    return undefined;
  }

  get elements(): Element[] {
    return this.getChildren();
  }

  /** Concatenated direct text content. */
  text(): string {
    let s = '';
    for (const c of this.children) if (typeof c === 'string') s += c;
    return s;
  }

  getChildText(name: string, xmlns?: string): string | undefined {
    return this.getChild(name, xmlns)?.text();
  }

  append(...nodes: (Node | null | undefined | false)[]): this {
    for (const n of nodes) if (n !== null && n !== undefined && n !== false) this.children.push(n);
    return this;
  }

  removeChildren(name: string, xmlns?: string): this {
    this.children = this.children.filter(
      (c) => typeof c === 'string' || c.name !== name || (xmlns !== undefined && c.attrs['xmlns'] !== xmlns),
    );
    return this;
  }

  /** Deep copy, so a stanza can be rewritten per recipient without touching the original. */
  clone(): Element {
    return new Element(
      this.name,
      { ...this.attrs },
      this.children.map((c) => (typeof c === 'string' ? c : c.clone())),
    );
  }

  toString(): string {
    let s = '<' + this.name;
    for (const k in this.attrs) {
      const v = this.attrs[k];
      if (v !== undefined) s += ' ' + k + '="' + escapeXml(v) + '"';
    }
    if (this.children.length === 0) return s + '/>';
    s += '>';
    for (const c of this.children) s += typeof c === 'string' ? escapeXml(c) : c.toString();
    return s + '</' + this.name + '>';
  }

  /** The top tag only (name, type, id, xmlns): what logs may show of a stanza. */
  topTag(): string {
    const a = this.attrs;
    const parts = [this.name];
    if (a['type']) parts.push(`type=${a['type']}`);
    if (a['id']) parts.push(`id=${a['id']}`);
    const payload = this.elements[0]?.attrs['xmlns'];
    if (payload) parts.push(`payload=${payload}`);
    return parts.join(' ');
  }
}

/** Builder: el('iq', { type: 'result' }, el('query', { xmlns: NS })). Null children are skipped. */
export function el(name: string, attrs: Record<string, string | undefined> = {}, ...children: (Node | null | undefined | false)[]): Element {
  const clean: Attrs = {};
  for (const k in attrs) {
    const v = attrs[k];
    if (v !== undefined) clean[k] = v;
  }
  return new Element(name, clean).append(...children);
}
