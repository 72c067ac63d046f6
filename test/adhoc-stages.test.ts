// XEP-0050 multi-stage commands: a module of the test's own registers a three-form command
// through the shared `adhoc` service, and slixmpp's xep_0050 workflow walks it with next, prev
// and complete; each stage offers exactly the actions it allows.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defineModule } from '../src/core/modules.ts';
import { startInProcess, type InProcessServer } from './harness/in-process.ts';
import { connectSlix, slixmppUnavailable, type SlixClient } from './harness/slixmpp.ts';

type Wizard = { name?: string; color?: string };

const wizard = defineModule({
  name: 'test-wizard',
  description: 'A three-step command for the tests.',
  stores: {},
  enabledByDefault: false,
  options: {},
  dependencies: ['adhoc'],
  setup(ctx) {
    const adhoc = ctx.shared.get('adhoc');
    if (!adhoc) throw new Error('no adhoc');
    ctx.onClose(adhoc.add<Wizard>({
      node: 'urn:test:wizard',
      name: 'Wizard',
      access: 'local',
      init: () => ({}),
      stages: [
        {
          form: (s) => ({ type: 'form', title: 'Name', fields: [{ var: 'name', type: 'text-single', values: s.name ? [s.name] : [] }] }),
          submit(v, s) {
            const name = v.text('name');
            if (!name) return { retry: { type: 'error', text: 'A name, please' } };
            s.name = name;
            return { next: true };
          },
        },
        {
          form: () => ({ type: 'form', title: 'Colour', fields: [{ var: 'color', type: 'list-single', options: [{ value: 'red' }, { value: 'blue' }] }] }),
          submit(v, s) {
            s.color = v.text('color') ?? 'none';
            return { next: true };
          },
        },
        {
          form: (s) => ({ type: 'form', title: 'Confirm', instructions: [`${s.name ?? ''} likes ${s.color ?? ''}?`], fields: [{ var: 'confirm', type: 'boolean' }] }),
          submit: (v, s) => ({ done: { notes: [{ type: 'info', text: v.boolean('confirm') ? `${s.name ?? ''} likes ${s.color ?? ''}` : 'not confirmed' }] } }),
        },
      ],
    }));
  },
});

describe('XEP-0050 multi-stage commands (slixmpp)', { skip: slixmppUnavailable() }, () => {
  let host: InProcessServer;
  let client: SlixClient;
  before(async () => {
    host = await startInProcess([wizard]);
    await host.server.accounts.create('localhost', 'walker', 'walker-pw');
    client = await connectSlix(undefined, { jid: 'walker@localhost', password: 'walker-pw', port: host.server.ports['c2s_starttls'] ?? 0 });
  });
  after(async () => {
    await client.close();
    await host.stop();
  });

  it('next, prev and complete move through the stages; state carries over; a bad value is asked again', async () => {
    const r = await client.adhocRun({
      node: 'urn:test:wizard',
      steps: [
        { action: 'next', fields: { name: '' } },
        { action: 'next', fields: { name: 'Ann' } },
        { action: 'prev' },
        { action: 'next', fields: { name: 'Bob' } },
        { action: 'next', fields: { color: 'red' } },
        { action: 'complete', fields: { confirm: '1' } },
      ],
    });
    const seen = r.map((x) => [x.status, x.actions.join(','), x.execute, x.notes.map((n) => n[1]).join('|')]);
    assert.deepEqual(seen, [
      ['executing', 'next', 'next', ''],
      ['executing', 'next', 'next', 'A name, please'],
      ['executing', 'next,prev', 'next', ''],
      ['executing', 'next', 'next', ''],
      ['executing', 'next,prev', 'next', ''],
      ['executing', 'complete,prev', 'complete', ''],
      ['completed', '', null, 'Bob likes red'],
    ]);
    // prev shows the first form again with what was entered.
    assert.deepEqual([r[3]?.form?.fields['name']?.value].flat(), ['Ann']);
    assert.ok(r.every((x) => x.sessionid === r[0]?.sessionid), 'one session throughout');
  });

  it('complete before the last stage is <bad-action/>', async () => {
    const r = await client.adhocRun({ node: 'urn:test:wizard', steps: [{ action: 'complete', fields: { name: 'Eve' } }] });
    assert.equal(r.at(-1)?.error, 'bad-request');
    assert.deepEqual(r.at(-1)?.error_app, ['{http://jabber.org/protocol/commands}bad-action']);
  });
});
