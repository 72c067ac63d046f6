// XEP-0202 Entity Time: the server's clock, in UTC (XEP-0082 format).
import { defineModule } from '../../core/modules.ts';
import { el } from '../../core/xml/element.ts';

const NS = 'urn:xmpp:time';

export const time = defineModule({
  name: 'time',
  description: "Tells clients the server's time (XEP-0202), in UTC so it reveals no location.",
  stores: {},
  enabledByDefault: true,
  xeps: [{ number: 202, version: '2.0' }],
  options: {},
  setup(ctx) {
    ctx.disco.addFeature(NS);
    ctx.iq.get('host', NS, 'time', () => el('time', { xmlns: NS }, el('tzo', {}, 'Z'), el('utc', {}, new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'))));
  },
});
