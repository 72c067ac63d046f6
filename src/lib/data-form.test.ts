import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NS_DATA, FormError, buildForm, parseForm } from './data-form.ts';
import { el } from '../core/xml/element.ts';

describe('XEP-0004 data forms', () => {
  it('builds a form with FORM_TYPE first, required fields and options', () => {
    const x = buildForm({
      type: 'form',
      formType: 'urn:example',
      title: 'T',
      instructions: ['one', 'two'],
      fields: [{ var: 'c', type: 'list-single', label: 'Colour', required: true, options: [{ label: 'Red', value: 'red' }] }],
    });
    assert.equal(
      x.toString(),
      `<x xmlns="${NS_DATA}" type="form"><title>T</title><instructions>one</instructions><instructions>two</instructions>` +
        '<field var="FORM_TYPE" type="hidden"><value>urn:example</value></field>' +
        '<field var="c" type="list-single" label="Colour"><required/><option label="Red"><value>red</value></option></field></x>',
    );
  });

  it('reads submitted values: single, multi, booleans (§3.3 lexical forms), FORM_TYPE', () => {
    const f = parseForm(el('x', { xmlns: NS_DATA, type: 'submit' },
      el('field', { var: 'FORM_TYPE', type: 'hidden' }, el('value', {}, 'urn:example')),
      el('field', { var: 'jids' }, el('value', {}, 'a@b'), el('value', {}, 'c@d')),
      el('field', { var: 'yes' }, el('value', {}, 'true')),
      el('field', { var: 'no' }, el('value', {}, '0')),
      el('field', { var: 'empty' }, el('value')),
      el('field', { type: 'fixed' }, el('value', {}, 'ignored'))));
    assert.equal(f.type, 'submit');
    assert.equal(f.formType, 'urn:example');
    assert.deepEqual(f.list('jids'), ['a@b', 'c@d']);
    assert.equal(f.text('jids'), 'a@b');
    assert.equal(f.boolean('yes'), true);
    assert.equal(f.boolean('no'), false);
    assert.equal(f.boolean('missing'), undefined);
    assert.equal(f.text('empty'), undefined);
  });

  it('refuses what is not a well-formed form', () => {
    assert.throws(() => parseForm(el('x', { xmlns: NS_DATA })), FormError);
    assert.throws(() => parseForm(el('x', { xmlns: 'urn:other', type: 'submit' })), FormError);
    assert.throws(() => parseForm(el('x', { xmlns: NS_DATA, type: 'submit' }, el('field', {}))), FormError);
    assert.throws(() => parseForm(el('x', { xmlns: NS_DATA, type: 'submit' }, el('field', { var: 'a' }), el('field', { var: 'a' }))), FormError);
    assert.throws(() => parseForm(el('x', { xmlns: NS_DATA, type: 'submit' }, el('field', { var: 'a', type: 'weird' }))), FormError);
    const f = parseForm(el('x', { xmlns: NS_DATA, type: 'submit' }, el('field', { var: 'b' }, el('value', {}, 'maybe'))));
    assert.throws(() => f.boolean('b'), FormError);
  });
});
