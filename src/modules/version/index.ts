// XEP-0092 Software Version, answered for the server's own JID.
import { defineModule } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import { el } from '../../core/xml/element.ts';
import { platform, release } from 'node:os';

const NS = 'jabber:iq:version';

export const version = defineModule({
  name: 'version',
  description: 'Tells a client which server software answers (XEP-0092); the OS stays hidden unless enabled.',
  stores: {},
  enabledByDefault: true,
  xeps: [{ number: 92, version: '1.1' }],
  options: { show_os: option.boolean(false, 'Reveal the operating system (off: it helps attackers, not users).') },
  setup(ctx) {
    ctx.disco.addFeature(NS);
    ctx.iq.get('host', NS, 'query', () =>
      el('query', { xmlns: NS }, el('name', {}, ctx.server.name), el('version', {}, ctx.server.version), ctx.options.show_os ? el('os', {}, `${platform()} ${release()}`) : null),
    );
  },
});
