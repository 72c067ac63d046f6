// XEP-0163 / XEP-0060 §5 discovery on an account's bare JID: the pubsub/pep identity, the nodes
// the requester may see (§5.2), a node's info with its meta-data (§5.3, §5.4) and its items (§5.5).
import type { AccountDiscoHandler } from '../../core/modules.ts';
import { buildForm } from '../../lib/data-form.ts';
import { NS_META_DATA, NS_PUBSUB } from '../../lib/pubsub/api.ts';
import type { Pep } from './notify.ts';

export function pepDisco(pep: Pep): AccountDiscoHandler {
  const { engine } = pep;
  const local = (owner: { local: string; domain: string }): string | undefined => (owner.domain === pep.ctx.host ? owner.local : undefined);
  return {
    identities: [{ category: 'pubsub', type: 'pep' }],
    async nodeInfo(owner, from, node) {
      const user = local(owner);
      if (user === undefined) return undefined;
      const config = await engine.nodeConfig(user, node);
      if (!config || !(await engine.mayRead(user, node, from))) return undefined;
      const meta = buildForm({
        type: 'result',
        formType: NS_META_DATA,
        fields: [
          { var: 'pubsub#title', values: [config.title] },
          { var: 'pubsub#description', values: [config.description] },
          { var: 'pubsub#type', values: [config.type] },
          { var: 'pubsub#access_model', values: [config.accessModel] },
          { var: 'pubsub#publish_model', values: [config.publishModel] },
          { var: 'pubsub#owner', type: 'jid-multi', values: [owner.toString()] },
        ],
      });
      return { identities: [{ category: 'pubsub', type: 'leaf' }], features: [NS_PUBSUB], forms: [meta] };
    },
    async items(owner, from, node) {
      const user = local(owner);
      if (user === undefined) return undefined;
      const jid = owner.toString();
      if (node === undefined) {
        return (await engine.nodes(user, from)).map((n) => ({ jid, node: n.node, name: n.config.title || undefined }));
      }
      if (!(await engine.mayRead(user, node, from))) return undefined;
      const page = await engine.items(user, from, node);
      return page.items.map((i) => ({ jid, name: i.id }));
    },
  };
}
