// "Export my data" as a XEP-0050 command: a user gets the XEP-0227 document of everything stored
// for their account (the policy's copy of all personal data, portable to another provider), the
// same document `jabberx export` and the web page give.
import { defineModule } from '../../core/modules.ts';
import { StanzaError } from '../../core/errors.ts';

export const EXPORT_NODE = 'urn:jabberx:command:export-data';
const PIE_NS = 'urn:xmpp:pie:0';

export const dataExport = defineModule({
  name: 'data-export',
  description: 'Lets users download a copy of everything stored for their account as a XEP-0227 document, with an ad-hoc command (XEP-0050).',
  stores: {},
  enabledByDefault: true,
  options: {},
  dependencies: ['adhoc'],
  setup(ctx) {
    const adhoc = ctx.shared.get('adhoc');
    if (!adhoc) throw new Error('data-export needs the adhoc module');
    ctx.onClose(adhoc.add({
      node: EXPORT_NODE,
      name: 'Export my data',
      access: 'local',
      async handler(req) {
        // Only one's own account: the requester is a local account of this host (access 'local').
        if (!(await ctx.accounts.exists(req.from.local))) throw new StanzaError('item-not-found', 'No such account');
        const xml = await ctx.accounts.exportXml(req.from.local);
        return {
          notes: [{ type: 'info', text: 'Everything stored for your account, as a XEP-0227 document: save it as a .xml file to move to another provider.' }],
          form: {
            type: 'result',
            formType: PIE_NS,
            title: 'Your data',
            fields: [{ var: 'data', type: 'text-multi', label: 'XEP-0227 document', values: xml.split('\n') }],
          },
        };
      },
    }));
  },
});
