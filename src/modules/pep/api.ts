// What the pep module (XEP-0163) offers other modules: ctx.shared.get('pep'), and hooks on every
// change of an account's PEP data (e.g. XEP-0398 avatar conversion, XEP-0048 bookmarks sync).
import type { Element } from '../../core/xml/element.ts';
import type { ItemsPage, ItemsQuery, NodeConfig } from '../../lib/pubsub/api.ts';

export interface PepService {
  /**
   * Publishes as the account itself would (§7.1 with publish-options): the node is auto-created
   * with `options` as its config, or `options` are preconditions on the existing node (a mismatch
   * throws StanzaError conflict + precondition-not-met). Contacts are notified. Returns the item id.
   */
  publish(user: string, node: string, item: { id?: string; payload: Element }, options?: Partial<NodeConfig>): Promise<string>;
  /** The account's own items of a node (as the owner reads them); item-not-found StanzaError when no node. */
  items(user: string, node: string, opts?: ItemsQuery): Promise<ItemsPage>;
  /** Retracts an item as the account (notifying when the node says notify_retract). */
  retract(user: string, node: string, id: string): Promise<void>;
  /** The node's config, undefined when the account has no such node. */
  nodeConfig(user: string, node: string): Promise<NodeConfig | undefined>;
}

declare module '../../core/shared.ts' {
  interface SharedMap {
    pep: PepService;
  }
}

declare module '../../core/hooks.ts' {
  interface HookMap {
    /** An item was published on an account's PEP node (by the account or through PepService). */
    'pep/published': { host: string; user: string; node: string; itemId: string; payload: Element };
    /** An item was retracted from an account's PEP node (purges and node deletions are not reported item by item). */
    'pep/retracted': { host: string; user: string; node: string; itemId: string };
  }
}
