// XEP-0199 XMPP Ping: the server answers pings addressed to it.
import { defineModule } from '../../core/modules.ts';

const NS = 'urn:xmpp:ping';

export const ping = defineModule({
  name: 'ping',
  description: 'Answers XMPP pings to the server (XEP-0199), so clients can check their connection.',
  stores: {},
  enabledByDefault: true,
  xeps: [{ number: 199, version: '2.0.1' }],
  options: {},
  setup(ctx) {
    ctx.disco.addFeature(NS);
    ctx.iq.get('host', NS, 'ping', () => undefined);
  },
});
