// XEP-0060 §16.4.4 node configuration: defaults, the pubsub#node_config form both ways, and the
// publish-options preconditions of §7.1.5.
import { buildForm, FormError, parseForm, type FormField, type FormValues } from '../data-form.ts';
import type { Element } from '../../core/xml/element.ts';
import { NS_NODE_CONFIG, NS_PUBLISH_OPTIONS, type AccessModel, type NodeConfig, type PublishModel, type SendLastPublished } from './api.ts';
import { preconditionNotMet, notAcceptable, pubsubError } from './errors.ts';

/** The engine's own defaults; a host overrides some (PEP: presence access, one item). */
export const BASE_DEFAULTS: NodeConfig = {
  accessModel: 'open',
  rosterGroupsAllowed: [],
  publishModel: 'publishers',
  maxItems: 'max',
  persistItems: true,
  deliverPayloads: true,
  deliverNotifications: true,
  notifyRetract: true,
  notifyDelete: true,
  notifyConfig: false,
  sendLastPublishedItem: 'never',
  title: '',
  description: '',
  type: '',
  notificationType: 'headline',
};

const ACCESS_MODELS: readonly AccessModel[] = ['open', 'presence', 'roster', 'whitelist'];
const PUBLISH_MODELS: readonly PublishModel[] = ['publishers', 'subscribers', 'open'];
const SEND_LAST: readonly SendLastPublished[] = ['never', 'on_sub', 'on_sub_and_presence'];
/** Longest text field value kept (title, description, type, group names). */
const MAX_TEXT = 1024;
const MAX_GROUPS = 64;

type FieldReader = (v: FormValues, name: string, maxItemsLimit: number) => Partial<NodeConfig>;

function oneOf<T extends string>(allowed: readonly T[], v: string | undefined, name: string): T {
  if (v === undefined || !(allowed as readonly string[]).includes(v)) throw new FormError(`${name} must be one of ${allowed.join(', ')}`);
  return v as T;
}

function bool(v: FormValues, name: string): boolean {
  const b = v.boolean(name);
  if (b === undefined) throw new FormError(`${name} needs a value`);
  return b;
}

function text(v: FormValues, name: string): string {
  const t = v.text(name) ?? '';
  if ([...t].length > MAX_TEXT) throw new FormError(`${name} is longer than ${MAX_TEXT} characters`);
  return t;
}

/** Field var -> how it sets the config. Unknown vars are refused (§8.2.5: not-acceptable). */
const FIELDS: Record<string, FieldReader> = {
  'pubsub#access_model': (v, n) => ({ accessModel: oneOf(ACCESS_MODELS, v.text(n), n) }),
  'pubsub#roster_groups_allowed': (v, n) => {
    const groups = v.list(n).filter((g) => g !== '');
    if (groups.length > MAX_GROUPS || groups.some((g) => [...g].length > MAX_TEXT)) throw new FormError(`${n}: at most ${MAX_GROUPS} groups`);
    return { rosterGroupsAllowed: [...new Set(groups)] };
  },
  'pubsub#publish_model': (v, n) => ({ publishModel: oneOf(PUBLISH_MODELS, v.text(n), n) }),
  'pubsub#max_items': (v, n, limit) => ({ maxItems: parseMaxItems(v.text(n), limit) }),
  'pubsub#persist_items': (v, n) => ({ persistItems: bool(v, n) }),
  'pubsub#deliver_payloads': (v, n) => ({ deliverPayloads: bool(v, n) }),
  'pubsub#deliver_notifications': (v, n) => ({ deliverNotifications: bool(v, n) }),
  'pubsub#notify_retract': (v, n) => ({ notifyRetract: bool(v, n) }),
  'pubsub#notify_delete': (v, n) => ({ notifyDelete: bool(v, n) }),
  'pubsub#notify_config': (v, n) => ({ notifyConfig: bool(v, n) }),
  'pubsub#send_last_published_item': (v, n) => ({ sendLastPublishedItem: oneOf(SEND_LAST, v.text(n), n) }),
  'pubsub#title': (v, n) => ({ title: text(v, n) }),
  'pubsub#description': (v, n) => ({ description: text(v, n) }),
  'pubsub#type': (v, n) => ({ type: text(v, n) }),
  'pubsub#notification_type': (v, n) => ({ notificationType: oneOf(['headline', 'normal'] as const, v.text(n), n) }),
};

/** Fields some clients send that change nothing here (read and accepted, as their value is our only behaviour). */
const ACCEPTED_AS_IS: Record<string, (v: FormValues, n: string) => boolean> = {
  // We never purge on unavailability and always notify of subscription changes only to owners.
  'pubsub#purge_offline': (v, n) => v.boolean(n) !== true,
  'pubsub#presence_based_delivery': () => true,
  'pubsub#subscribe': (v, n) => v.boolean(n) !== false,
  'pubsub#max_payload_size': () => true,
  'pubsub#item_expire': () => true,
  // Who gets replies to items: nobody replies through this service.
  'pubsub#itemreply': () => true,
};

/**
 * What an imported form's unusable value becomes (another server's export): an access model we
 * lack becomes the closest stricter one, a too high max_items our limit; anything else is dropped.
 */
function lenientValue(name: string, value: string | undefined, maxItemsLimit: number): Partial<NodeConfig> {
  if (name === 'pubsub#access_model' && value === 'authorize') return { accessModel: 'whitelist' };
  if (name === 'pubsub#max_items' && value !== undefined && /^\d+$/.test(value)) return { maxItems: Math.max(1, Math.min(Number(value), maxItemsLimit)) };
  return {};
}

function parseMaxItems(raw: string | undefined, limit: number): number | 'max' {
  if (raw === 'max') return 'max';
  if (raw === undefined || !/^\d{1,9}$/.test(raw)) throw new FormError("pubsub#max_items must be a whole number or 'max'");
  const n = Number(raw);
  if (n < 1) throw new FormError('pubsub#max_items must be at least 1');
  if (n > limit) throw new FormError(`pubsub#max_items is above this service's limit of ${limit}`);
  return n;
}

/**
 * Reads a submitted pubsub#node_config (or publish-options) form into config values. Bad values
 * are <not-acceptable/> (§8.2.5) for a configuration; the caller maps them for publish-options.
 */
export function readConfigForm(x: Element, formType: string, maxItemsLimit: number, opts: { lenient?: boolean } = {}): Partial<NodeConfig> {
  let values: FormValues;
  try {
    values = parseForm(x);
  } catch (e) {
    throw notAcceptable(e instanceof Error ? e.message : 'unreadable form');
  }
  if (values.type === 'cancel') return {};
  // XEP-0068: the FORM_TYPE names what the form is; a form of another kind is not ours to read.
  if (values.formType !== undefined && values.formType !== formType) throw notAcceptable(`the form is not a ${formType} form`);
  const out: Partial<NodeConfig> = {};
  for (const field of x.getChildren('field')) {
    const name = field.attrs['var'];
    if (name === undefined || name === 'FORM_TYPE') continue;
    const reader = FIELDS[name];
    try {
      if (reader) Object.assign(out, reader(values, name, maxItemsLimit));
      else if (!ACCEPTED_AS_IS[name]?.(values, name)) throw new FormError(`${name} is not supported`);
    } catch (e) {
      if (e instanceof FormError && opts.lenient) {
        Object.assign(out, lenientValue(name, values.text(name), maxItemsLimit));
        continue;
      }
      if (e instanceof FormError) {
        if (formType === NS_PUBLISH_OPTIONS) throw preconditionNotMet(e.message);
        throw notAcceptable(e.message);
      }
      throw e;
    }
  }
  return out;
}

/** §7.1.5: every option must equal the node's setting; else <conflict/> + <precondition-not-met/>. */
export function checkPreconditions(config: NodeConfig, options: Partial<NodeConfig>): void {
  for (const [key, wanted] of Object.entries(options) as [keyof NodeConfig, unknown][]) {
    const actual = config[key];
    const same = Array.isArray(wanted) && Array.isArray(actual)
      ? wanted.length === actual.length && [...wanted].sort().join('\n') === [...actual].sort().join('\n')
      : wanted === actual;
    if (!same) throw preconditionNotMet(`The node's ${fieldOf(key)} is ${formatValue(actual)}, not ${formatValue(wanted)}`);
  }
}

function fieldOf(key: keyof NodeConfig): string {
  return FIELD_OF[key];
}

function formatValue(v: unknown): string {
  return Array.isArray(v) ? v.join(', ') : String(v);
}

const FIELD_OF: Record<keyof NodeConfig, string> = {
  accessModel: 'pubsub#access_model',
  rosterGroupsAllowed: 'pubsub#roster_groups_allowed',
  publishModel: 'pubsub#publish_model',
  maxItems: 'pubsub#max_items',
  persistItems: 'pubsub#persist_items',
  deliverPayloads: 'pubsub#deliver_payloads',
  deliverNotifications: 'pubsub#deliver_notifications',
  notifyRetract: 'pubsub#notify_retract',
  notifyDelete: 'pubsub#notify_delete',
  notifyConfig: 'pubsub#notify_config',
  sendLastPublishedItem: 'pubsub#send_last_published_item',
  title: 'pubsub#title',
  description: 'pubsub#description',
  type: 'pubsub#type',
  notificationType: 'pubsub#notification_type',
};

/** Checks values given programmatically (PepService.publish options) as a form would. */
export function checkConfigValues(values: Partial<NodeConfig>, maxItemsLimit: number): void {
  const m = values.maxItems;
  if (m !== undefined && m !== 'max' && (!Number.isInteger(m) || m < 1 || m > maxItemsLimit)) {
    throw pubsubError('not-acceptable', undefined, `pubsub#max_items must be 1 to ${maxItemsLimit} or 'max'`);
  }
}

/** The pubsub#node_config form of a node (§8.2.1), as a form to fill in or a result. */
export function configForm(config: NodeConfig, type: 'form' | 'result', maxItemsLimit: number): Element {
  const b = (v: boolean) => (v ? '1' : '0');
  const list = (vals: readonly string[]) => vals.map((value) => ({ value }));
  const fields: FormField[] = [
    { var: 'pubsub#title', type: 'text-single', label: 'A friendly name for the node', values: [config.title] },
    { var: 'pubsub#description', type: 'text-single', label: 'A description of the node', values: [config.description] },
    { var: 'pubsub#type', type: 'text-single', label: 'The type of node data, usually specified by the namespace of the payload', values: [config.type] },
    { var: 'pubsub#access_model', type: 'list-single', label: 'Who may subscribe and retrieve items', values: [config.accessModel], options: list(ACCESS_MODELS) },
    { var: 'pubsub#roster_groups_allowed', type: 'list-multi', label: 'Roster groups allowed to subscribe', values: config.rosterGroupsAllowed },
    { var: 'pubsub#publish_model', type: 'list-single', label: 'Who may publish items', values: [config.publishModel], options: list(PUBLISH_MODELS) },
    { var: 'pubsub#max_items', type: 'text-single', label: `Max # of items to persist (1 to ${maxItemsLimit}, or max)`, values: [String(config.maxItems)] },
    { var: 'pubsub#persist_items', type: 'boolean', label: 'Persist items to storage', values: [b(config.persistItems)] },
    { var: 'pubsub#deliver_notifications', type: 'boolean', label: 'Deliver event notifications', values: [b(config.deliverNotifications)] },
    { var: 'pubsub#deliver_payloads', type: 'boolean', label: 'Deliver payloads with event notifications', values: [b(config.deliverPayloads)] },
    { var: 'pubsub#notify_retract', type: 'boolean', label: 'Notify subscribers when items are removed from the node', values: [b(config.notifyRetract)] },
    { var: 'pubsub#notify_delete', type: 'boolean', label: 'Notify subscribers when the node is deleted', values: [b(config.notifyDelete)] },
    { var: 'pubsub#notify_config', type: 'boolean', label: 'Notify subscribers when the node configuration changes', values: [b(config.notifyConfig)] },
    { var: 'pubsub#send_last_published_item', type: 'list-single', label: 'When to send the last published item', values: [config.sendLastPublishedItem], options: list(SEND_LAST) },
    { var: 'pubsub#notification_type', type: 'list-single', label: 'Specify the delivery style for notifications', values: [config.notificationType], options: list(['headline', 'normal']) },
  ];
  return buildForm({ type, formType: NS_NODE_CONFIG, fields });
}

/** The effective max_items of a config ('max' is the service's limit). */
export function effectiveMaxItems(config: NodeConfig, limit: number): number {
  return config.maxItems === 'max' ? limit : Math.min(config.maxItems, limit);
}
