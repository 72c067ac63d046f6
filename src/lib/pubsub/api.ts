// The public face of the PubSub engine (XEP-0060 v1.26.0): types and entry points shared by every
// host of it (PEP on each account, XEP-0163; a pubsub.<host> service). The engine knows nothing of
// rosters, sessions or routing: the hosting module gives it storage, an access callback and a
// notification sink, and routes what it returns. Additive changes only: other modules build on it.
import type { Element } from '../../core/xml/element.ts';
import type { Jid } from '../../core/jid.ts';
import type { XmlJson } from '../../core/xml/xml-json.ts';

export const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
export const NS_PUBSUB_OWNER = 'http://jabber.org/protocol/pubsub#owner';
export const NS_PUBSUB_EVENT = 'http://jabber.org/protocol/pubsub#event';
export const NS_PUBSUB_ERRORS = 'http://jabber.org/protocol/pubsub#errors';
/** FORM_TYPE of the node configuration form (§16.4.4). */
export const NS_NODE_CONFIG = 'http://jabber.org/protocol/pubsub#node_config';
/** FORM_TYPE of publish-options (§7.1.5). */
export const NS_PUBLISH_OPTIONS = 'http://jabber.org/protocol/pubsub#publish-options';
/** FORM_TYPE of the metadata in disco#info of a node (§5.4). */
export const NS_META_DATA = 'http://jabber.org/protocol/pubsub#meta-data';
export const NS_RSM = 'http://jabber.org/protocol/rsm';

/** pubsub#access_model (§4.5). 'authorize' is not offered: requests answer feature-not-implemented. */
export type AccessModel = 'open' | 'presence' | 'roster' | 'whitelist';
/** pubsub#publish_model (§16.4.4). */
export type PublishModel = 'publishers' | 'subscribers' | 'open';
/** pubsub#send_last_published_item (§16.4.4). */
export type SendLastPublished = 'never' | 'on_sub' | 'on_sub_and_presence';
/** Affiliations (§4.1), strongest first. */
export type Affiliation = 'owner' | 'publisher' | 'publish-only' | 'member' | 'none' | 'outcast';

/** A node's configuration (the pubsub#node_config form, §16.4.4), as stored. */
export type NodeConfig = {
  /** pubsub#access_model. */
  accessModel: AccessModel;
  /** pubsub#roster_groups_allowed: the owner's roster groups the 'roster' access model lets in. */
  rosterGroupsAllowed: string[];
  /** pubsub#publish_model. */
  publishModel: PublishModel;
  /** pubsub#max_items: a number, or 'max' (the service's limit). */
  maxItems: number | 'max';
  /** pubsub#persist_items: false keeps items in memory only (lost on restart). */
  persistItems: boolean;
  /** pubsub#deliver_payloads: notifications carry the item payload. */
  deliverPayloads: boolean;
  /** pubsub#deliver_notifications: any notification at all. */
  deliverNotifications: boolean;
  /** pubsub#notify_retract: subscribers hear of retractions. */
  notifyRetract: boolean;
  /** pubsub#notify_delete: subscribers hear of the node's deletion. */
  notifyDelete: boolean;
  /** pubsub#notify_config: subscribers hear of configuration changes. */
  notifyConfig: boolean;
  /** pubsub#send_last_published_item (PEP: on_sub_and_presence). */
  sendLastPublishedItem: SendLastPublished;
  /** pubsub#title. */
  title: string;
  /** pubsub#description. */
  description: string;
  /** pubsub#type: the payload namespace, informative. */
  type: string;
  /** pubsub#notification_type: the message type of notifications. */
  notificationType: 'headline' | 'normal';
};

/** An item as the engine hands it out. */
export interface PubsubItem {
  id: string;
  payload: Element;
  /** Bare JID of whoever published it. */
  publisher: string;
  published: Date;
}

/** How a requester relates to a node owner (RFC 6121 roster, from the owner's side). */
export interface OwnerRelation {
  /** The owner's roster item's subscription for the requester ('from'/'both': the requester sees the owner's presence). */
  subscription: 'none' | 'to' | 'from' | 'both';
  /** The groups the owner put the requester in. */
  groups: readonly string[];
}

/**
 * The access callback the hosting module gives: how `requester` (bare JID) stands in the roster of
 * `owner` (a bare JID, any entity). A service without rosters answers { subscription: 'none', groups: [] }.
 */
export type RelationResolver = (owner: string, requester: string) => Promise<OwnerRelation>;

/** Bounds the engine enforces (module options of the host). */
export interface PubsubLimits {
  /** Nodes per service (per account for PEP): beyond it creation answers <policy-violation/> + <max-nodes-exceeded/>. */
  maxNodes: number;
  /** The most items a node keeps, and what max_items 'max' means. */
  maxItemsPerNode: number;
  /** Largest item payload, serialized, in bytes: beyond it <not-acceptable/> + <payload-too-big/>. */
  maxPayloadBytes: number;
  /** Explicit subscriptions per node: beyond it <policy-violation/> + <too-many-subscriptions/>. */
  maxSubscriptionsPerNode: number;
  /**
   * Payload bytes one items result carries at most (default 1 MiB): past it the result is cut,
   * with XEP-0059 facts so the client can page on (§6.5.4).
   */
  maxResultBytes?: number;
}

/** Something that happened to a node, for the host to notify (§7): the engine never routes. */
export type PubsubEvent = (
  | { kind: 'published'; items: PubsubItem[]; publisher: Jid }
  | { kind: 'retracted'; ids: string[] }
  | { kind: 'purged' }
  | { kind: 'deleted'; redirect?: string }
  | { kind: 'configured' }
  /** The last item for a new subscriber (send_last_published_item on_sub*), to `to` only. */
  | { kind: 'last'; item: PubsubItem; to: Jid }
) & {
  service: string;
  node: string;
  config: NodeConfig;
  /** The node's explicit subscribers when it happened (for 'deleted': before the deletion). */
  subscribers: string[];
};

/** How the engine is built by a host (see createPubsubEngine in engine.ts). */
export interface PubsubEngineOptions {
  storage: PubsubStorage;
  relation: RelationResolver;
  limits: PubsubLimits;
  /** The configuration of a new node before any requested option (PEP: access_model presence). */
  defaults: Partial<NodeConfig>;
  /** Publishing to a missing node creates it (#auto-create), with the publish-options as its config. */
  autoCreate: boolean;
  /** Whether `requester` may create nodes on `service` (PEP: only the account itself). */
  mayCreate(service: string, requester: Jid): boolean;
  /** Owners of every node of `service` whatever the node's affiliations (PEP: the account's bare JID). */
  serviceOwners(service: string): readonly string[];
  /**
   * Receives every event after it is stored, outside the service's lock (so it may call the
   * engine again); the host decides the recipients and routes notificationMessage (event.ts).
   */
  notify(event: PubsubEvent): void | Promise<void>;
  /** New item ids when the publisher gives none (default: random UUIDs). */
  newItemId?(): string;
  /** Only owners publish and retract, whatever the affiliations and publish_model (PEP, XEP-0163). */
  ownersOnlyPublish?: boolean;
}

/** Item retrieval options (§6.5). */
export interface ItemsQuery {
  /** max_items: the newest n. */
  max?: number;
  /** Only these ids (§6.5.8). */
  ids?: readonly string[];
  /** XEP-0059: page size and position (item ids). */
  rsm?: { max?: number; after?: string; before?: string; index?: number };
}

/** Item retrieval result, newest first as §6.5.7 orders them, with the XEP-0059 page facts. */
export interface ItemsPage {
  items: PubsubItem[];
  /** The node's item count (for RSM <count/>). */
  count: number;
  /** Index of the first item of the page among all (RSM <first index=.../>). */
  firstIndex: number;
  /** The page was cut at maxResultBytes: more items follow the last one. */
  truncated?: boolean;
}

/** A node as listed (disco#items, §5.2), with the title. */
export interface NodeSummary {
  node: string;
  config: NodeConfig;
}

/** An IQ for the engine: from the requester to the service, payload is <pubsub/> in either namespace. */
export interface PubsubIqRequest {
  service: string;
  from: Jid;
  type: 'get' | 'set';
  payload: Element;
}

/**
 * The engine's entry points. `service` is the host's key for one pubsub service (PEP: the account's
 * localpart; a pubsub.<host> component: any fixed key). Errors are StanzaErrors carrying the
 * XEP-0060 application conditions exactly as §6-§8 list them.
 */
export interface PubsubEngine {
  /** Answers a <pubsub/> IQ of the #pubsub or #owner namespace (§6-§8): the result payload or nothing. */
  handleIq(req: PubsubIqRequest): Promise<Element | undefined>;
  /** §7.1 publish, with publish-options (§7.1.5) as node_config field values; returns the item id. */
  publish(service: string, requester: Jid, node: string, item: { id?: string; payload: Element }, options?: Partial<NodeConfig>): Promise<string>;
  /** §6.5 items the requester may read. */
  items(service: string, requester: Jid, node: string, query?: ItemsQuery): Promise<ItemsPage>;
  /** §7.2 retract (notify: whether subscribers hear of it, as the retract element's notify attribute). */
  retract(service: string, requester: Jid, node: string, id: string, notify?: boolean): Promise<void>;
  /** §8.1 create, with config values (undefined: defaults). */
  createNode(service: string, requester: Jid, node: string, config?: Partial<NodeConfig>): Promise<void>;
  /** §8.4 delete (`redirect`: the URI subscribers are pointed to). */
  deleteNode(service: string, requester: Jid, node: string, redirect?: string): Promise<void>;
  /** §8.5 purge. */
  purge(service: string, requester: Jid, node: string): Promise<void>;
  /** §8.2 configure (owner). */
  configure(service: string, requester: Jid, node: string, config: Partial<NodeConfig>): Promise<void>;
  /** The node's config, or undefined when there is no such node (no access check). */
  nodeConfig(service: string, node: string): Promise<NodeConfig | undefined>;
  /** Nodes the requester may see (disco#items, §5.2). */
  nodes(service: string, requester: Jid): Promise<NodeSummary[]>;
  /** Whether `requester` may read the node's items (access model, affiliations). */
  mayRead(service: string, node: string, requester: Jid): Promise<boolean>;
  /**
   * mayRead for many requesters (bare JIDs) at once, e.g. the contacts a notification goes to: the
   * node is read once, and `relation` (default: the host's) may answer from a roster read once.
   * Undefined when there is no such node.
   */
  readers(service: string, node: string, relation?: RelationResolver): Promise<((bare: string) => Promise<boolean>) | undefined>;
  /** The newest item, whatever the access (for the host's own last-item delivery). */
  lastItem(service: string, node: string): Promise<PubsubItem | undefined>;
  /** Explicit subscribers (bare or full JIDs as they subscribed) of a node. */
  subscribers(service: string, node: string): Promise<string[]>;
  /** §6.1 subscribe `jid` (the requester's bare or full JID); the last item follows as a 'last' event when configured. */
  subscribe(service: string, requester: Jid, node: string, jid: Jid): Promise<{ subid: string }>;
  /** §6.2 unsubscribe (the subscriber itself, or an owner). */
  unsubscribe(service: string, requester: Jid, node: string, jid: Jid): Promise<void>;
  /** §8.9.1 the node's affiliations (owner only), service owners included. */
  affiliations(service: string, requester: Jid, node: string): Promise<Record<string, Affiliation>>;
  /** §8.9.2 changes affiliations (owner only); 'none' removes one; outcasts lose their subscriptions. */
  setAffiliations(service: string, requester: Jid, node: string, changes: Record<string, Affiliation>): Promise<void>;
  /** §8.8.2 changes subscriptions (owner only): 'subscribed' adds, 'none' removes. */
  setSubscriptions(service: string, requester: Jid, node: string, changes: Record<string, 'subscribed' | 'none'>): Promise<void>;
  /** Forgets a whole service (account deletion): every node, item and subscription. */
  deleteService(service: string): Promise<void>;
  /**
   * XEP-0227: the service's nodes as Prosody's exporter writes PEP: <pubsub xmlns=#owner> with a
   * <configure node/> (submitted node_config form) and <affiliations node/> per node, and
   * <pubsub xmlns=NS_PUBSUB> with <items node/> (oldest first). Empty when the service has no node.
   */
  exportService(service: string): Promise<Element[]>;
  /** XEP-0227 import of those elements among `elements` (limits apply; throws Error with a readable text). */
  importService(service: string, elements: readonly Element[]): Promise<void>;
}

/** Where the engine keeps nodes and items (store-adapter.ts implements it over module stores). */
export interface PubsubStorage {
  getNode(service: string, node: string): Promise<NodeRecord | undefined>;
  allNodes(service: string): Promise<Map<string, NodeRecord>>;
  /** Writes the node record and item changes together (one transaction). */
  write(service: string, node: string, record: NodeRecord | undefined, items: { set?: Map<string, StoredItem>; delete?: readonly string[] }): Promise<void>;
  getItem(service: string, node: string, id: string): Promise<StoredItem | undefined>;
  deleteService(service: string): Promise<void>;
}

/** A node as stored: plain JSON so the stores seal it as it is. */
export type NodeRecord = {
  config: NodeConfig;
  /** Bare JID -> affiliation ('none' never stored). */
  affiliations: Record<string, Affiliation>;
  /** Subscriber JID (as subscribed) -> subscription id. */
  subscriptions: Record<string, string>;
  /** Item ids, oldest first. */
  items: string[];
  created: string;
};

/** An item as stored (the payload as XmlJson, src/core/xml/xml-json.ts). */
export type StoredItem = {
  payload: XmlJson;
  publisher: string;
  published: string;
};
