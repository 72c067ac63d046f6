// The saxes internals src/core/xml/parser.ts relies on (declared private in saxes' typings): saxes
// is pinned to one exact version, and these tests fail if an upgrade renames or changes them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SaxesParser } from 'saxes';

const require = createRequire(import.meta.url);
const ROOT = join(import.meta.dirname, '..', '..', '..');

/** Handler fields the wrapper assigns directly, and the saxes event each one serves. */
const HANDLERS: Record<string, string> = {
  openTagHandler: 'opentag',
  closeTagHandler: 'closetag',
  textHandler: 'text',
  cdataHandler: 'cdata',
  attributeHandler: 'attribute',
  doctypeHandler: 'doctype',
  commentHandler: 'comment',
  piHandler: 'processinginstruction',
  errorHandler: 'error',
};
/** The other fields it reads or replaces. */
const STATE_FIELDS = ['stateTable', 'entity'];

type Slots = Record<string, unknown>;
const make = () => new SaxesParser({ xmlns: false, forceXMLVersion: true, defaultXMLVersion: '1.0' });

describe('saxes internals used by the stream parser', () => {
  it('saxes is pinned to the exact version installed', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const installed = (require('saxes/package.json') as { version: string }).version;
    assert.match(pkg.dependencies['saxes'] ?? '', /^\d+\.\d+\.\d+$/, 'package.json must pin saxes exactly (no ^ or ~)');
    assert.equal(installed, pkg.dependencies['saxes']);
  });

  it('covers every field of SaxesInternals in parser.ts', () => {
    const source = readFileSync(join(import.meta.dirname, 'parser.ts'), 'utf8');
    const body = /interface SaxesInternals \{([\s\S]*?)\n\}/.exec(source)?.[1];
    assert.ok(body, 'parser.ts declares interface SaxesInternals');
    const fields = [...body.matchAll(/^ {2}(\w+)\s*:/gm)].map((m) => m[1]);
    assert.deepEqual(fields.sort(), [...Object.keys(HANDLERS), ...STATE_FIELDS].sort());
  });

  it('on(event) stores the handler in the field the wrapper assigns', () => {
    const p = make();
    for (const [field, event] of Object.entries(HANDLERS)) {
      const fn = () => undefined;
      p.on(event as 'text', fn);
      assert.equal((p as unknown as Slots)[field], fn, `${event} -> ${field}`);
    }
  });

  it('calls handlers assigned to those fields directly', () => {
    const p = make();
    const slots = p as unknown as Slots;
    const seen: string[] = [];
    for (const [field, event] of Object.entries(HANDLERS)) {
      slots[field] = event === 'error' ? () => seen.push('error') : () => seen.push(event);
    }
    p.write('<?xml version="1.0"?><!DOCTYPE a><a x="1"><!--c--><?pi d?><![CDATA[z]]>t</a>');
    for (const event of Object.values(HANDLERS)) if (event !== 'error') assert.ok(seen.includes(event), `${event} was not called`);
    const q = make();
    let error: unknown;
    (q as unknown as Slots)['errorHandler'] = (e: unknown) => (error = e);
    q.write('<a></b>');
    assert.ok(error instanceof Error);
  });

  it('stateTable is an array of prototype methods, so instances can share one', () => {
    const a = make();
    const b = make();
    const table = (a as unknown as Slots)['stateTable'];
    assert.ok(Array.isArray(table) && table.length > 0);
    const proto = new Set(Object.getOwnPropertyNames(Object.getPrototypeOf(a)).map((n) => (Object.getPrototypeOf(a) as Slots)[n]));
    for (const f of table as unknown[]) assert.ok(typeof f === 'function' && proto.has(f), 'an entry is not a prototype method');
    assert.equal(((b as unknown as Slots)['stateTable'] as unknown[]).length, table.length);
    // b parses correctly with a's table, as the wrapper shares it.
    (b as unknown as Slots)['stateTable'] = table;
    const names: string[] = [];
    b.on('opentag', (t) => names.push(t.name));
    b.write('<a><b/></a>');
    assert.deepEqual(names, ['a', 'b']);
  });

  it('entity holds the name read after & so far', () => {
    const p = make();
    assert.equal((p as unknown as Slots)['entity'], '');
    p.write('<a>x&ab');
    assert.equal((p as unknown as Slots)['entity'], 'ab');
  });
});
