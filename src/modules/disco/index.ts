// XEP-0030 Service Discovery: the server's identity and features, and each account's.
import { defineModule } from '../../core/modules.ts';
import { el } from '../../core/xml/element.ts';
import { itemNotFound } from '../../core/errors.ts';
import type { DiscoIdentity, DiscoItem } from '../../core/modules.ts';
import { CAPS_NODE, capsVer } from '../../lib/caps-ver.ts';

export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
export const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';

function info(node: string | undefined, identities: readonly DiscoIdentity[], features: Iterable<string>) {
  return el(
    'query',
    { xmlns: NS_DISCO_INFO, node },
    ...identities.map((i) => el('identity', { category: i.category, type: i.type, name: i.name })),
    ...[...new Set(features)].sort().map((f) => el('feature', { var: f })),
  );
}

export const disco = defineModule({
  name: 'disco',
  description: 'Service discovery (XEP-0030): what the server and each account support.',
  stores: {},
  enabledByDefault: true,
  xeps: [{ number: 30, version: '2.5rc3' }],
  options: {},
  setup(ctx) {
    ctx.disco.addIdentity({ category: 'server', type: 'im', name: 'JabberX' });
    ctx.disco.addFeature(NS_DISCO_INFO);
    ctx.disco.addFeature(NS_DISCO_ITEMS);
    ctx.disco.addAccountFeature(NS_DISCO_INFO);
    ctx.disco.addAccountFeature(NS_DISCO_ITEMS);
    const rt = ctx.discoData;
    ctx.iq.get('host', NS_DISCO_INFO, 'query', ({ payload, from }) => {
      const node = payload.attrs['node'];
      // A module's node (e.g. a XEP-0050 command) answers for itself.
      const served = node ? rt.nodes.get(node)?.info : undefined;
      if (node && served) {
        const answer = served(from);
        return info(node, answer.identities, answer.features);
      }
      // XEP-0115 §6.2: the node#ver of our caps (stream features) names this same information.
      if (node && node !== `${CAPS_NODE}#${capsVer(rt.identities, [...rt.features])}`) throw itemNotFound('No such node');
      return info(node, rt.identities, rt.features);
    });
    ctx.iq.get('host', NS_DISCO_ITEMS, 'query', ({ payload, from }) => {
      const node = payload.attrs['node'];
      let items = rt.items;
      if (node) {
        const served = rt.nodes.get(node)?.items;
        if (!served) throw itemNotFound('No such node');
        items = served(from);
      }
      return el('query', { xmlns: NS_DISCO_ITEMS, node }, ...items.map((i) => el('item', { jid: i.jid, node: i.node, name: i.name })));
    });
    // Accounts (bare JIDs): the server answers on the account's behalf (XEP-0030 §3.1, RFC 6121 §8.5.2).
    // Modules add identities, nodes and items of their own (e.g. PEP, XEP-0163).
    ctx.iq.get('account', NS_DISCO_INFO, 'query', async ({ payload, from, to }) => {
      const node = payload.attrs['node'];
      if (node) {
        for (const h of rt.accountHandlers) {
          const answer = await h.nodeInfo?.(to, from, node);
          if (answer) return info(node, answer.identities, answer.features).append(...(answer.forms ?? []));
        }
        throw itemNotFound('No such node');
      }
      const identities = [{ category: 'account', type: 'registered' }, ...rt.accountHandlers.flatMap((h) => h.identities ?? [])];
      return info(undefined, identities, rt.accountFeatures);
    });
    ctx.iq.get('account', NS_DISCO_ITEMS, 'query', async ({ payload, from, to }) => {
      const node = payload.attrs['node'];
      const items: DiscoItem[] = [];
      let known = !node;
      for (const h of rt.accountHandlers) {
        const found = await h.items?.(to, from, node);
        if (found) {
          known = true;
          items.push(...found);
        }
      }
      if (!known) throw itemNotFound('No such node');
      return el('query', { xmlns: NS_DISCO_ITEMS, node }, ...items.map((i) => el('item', { jid: i.jid, node: i.node, name: i.name })));
    });
  },
});
