// The facts behind the published Terms of Service and Privacy Policy (GDPR Art. 13: who is
// responsible, what is stored and why, for how long, the user's rights). Every statement that
// src/policy/render.ts makes follows from one of these facts, and the facts are derived from the
// running configuration and server state, so the pages can't promise what the server doesn't do.
import { privacyOf, type ModulePrivacy, type ModuleSpec } from '../core/modules.ts';
import { createHash } from 'node:crypto';
import type { ServerConfig } from '../core/config.ts';

/**
 * Bump when render.ts changes what the pages say (not just their layout): the version is part of
 * the fingerprint, so the "last changed" date moves with the wording too.
 */
export const POLICY_TEXT_VERSION = 3;

/** The retention rule of a message archive (src/modules/mam): the policy words the archive by it. */
export const ARCHIVE_RETENTION = 'archived messages';

/** One kind of personal data the server keeps. */
export interface StoredData {
  /** Where it comes from: 'account', 'email', or the module that keeps it (e.g. 'offline'). */
  source: string;
  what: string;
  detail: string;
  /** Only on these hosts; absent = on every host. */
  hosts?: string[];
  /**
   * Hosts where the module that keeps it is turned off but its data is still stored (until the
   * operator erases it with `jabberx purge-module`): nothing new is added there.
   */
  leftoverOn?: string[];
}

/** One time limit the retention engine enforces. */
export interface RetentionFact {
  /** As the rule is registered, e.g. "offline messages", "failed-login records". */
  name: string;
  maxAgeMs: number;
  /** Only on these hosts (a limit set per host); absent = everywhere the data exists. */
  hosts?: string[];
}

export interface PolicyFacts {
  serviceName: string;
  /** The domains accounts live on, the first (default) host first. */
  hosts: string[];
  operator: { name: string; contact: string; jurisdiction: string };
  /** The operator's own rules, added to the terms as written. */
  extraTerms: string[];
  stored: StoredData[];
  retention: RetentionFact[];
  /** The retention engine runs at start and at least this often (security.retention_interval). */
  retentionIntervalMs: number;
  /**
   * A message archive (chat history kept after delivery, e.g. XEP-0313) on any host; `hosts` names
   * them when only some hosts keep one. How long it keeps messages is the retention rule named
   * ARCHIVE_RETENTION.
   */
  archive: { enabled: boolean; hosts?: string[]; leftoverOn?: string[] };
  encryptionAtRest: { enabled: boolean; algorithm: string; keyOutsideStore: boolean };
  /** `required`: no login before TLS (STARTTLS is mandatory, see src/core/stream/client-stream.ts). */
  tls: { minVersion: string; required: boolean };
  addresses: {
    /** Whether IP addresses or connection times are written to storage or logs. */
    logged: boolean;
    /** Failed logins are remembered per address (IPv6: per /64) and per account, in memory only, this long. */
    failedLoginWindowMs: number;
    /**
     * Set while log.failed_login_file is on: the address and time of each failed login are written
     * to that file (for fail2ban), and each line is deleted after this long.
     */
    failedLoginLogRetentionMs?: number;
  };
  logging: {
    /** Level of the operational log (the main log, not the on-demand debug log). */
    level: string;
    /** Debug logging can be switched on at run time into its own file, deleted when switched off. */
    debugOnDemand: boolean;
  };
  deletion: {
    /** Users can delete their own account from their client (XEP-0077 unregistration). */
    inBand: boolean;
    /** Deleted data is overwritten in the database files, not just marked free (SQLite secure_delete). */
    secureDelete: boolean;
  };
  /** A portable copy of everything stored for an account can be produced on request. */
  exportAvailable: boolean;
  /** In-band registration (XEP-0077) and whether it asks a CAPTCHA (XEP-0158). */
  registration: { enabled: boolean; captcha: boolean };
  /** An e-mail address may be stored, only to reset a forgotten password. */
  passwordResetByEmail: boolean;
  /**
   * HTTP File Upload (XEP-0363) on some host: files shared in chats, reachable by anyone holding
   * their link; the largest per-account quota and file size of the hosts that offer it.
   */
  fileUpload?: { quotaBytes: number; maxFileBytes: number };
  /**
   * The e2e-policy module: one-to-one chats must be end-to-end encrypted (OMEMO or OpenPGP);
   * `hosts` only when not every host requires it.
   */
  endToEndRequired?: { hosts?: string[] };
  /**
   * The server's current state, shown on the page but not part of the policy itself: changing
   * it (a new block, debug switched on) doesn't move the "last changed" date.
   */
  status: { blockRules: number; debugActive: boolean; debugUntil?: string };
  /** ISO 8601 time the policy-relevant facts last changed (see stampPolicy). */
  policyLastChanged: string;
}

export type UnstampedPolicyFacts = Omit<PolicyFacts, 'policyLastChanged'>;

/** What the server knows at run time beyond its configuration; the lead wires it in server.ts. */
export interface PolicyState {
  /** The retention engine's rules (RetentionEngine.rules()). */
  retentionRules: readonly { name: string; host?: string; maxAgeMs: number }[];
  encryptionAtRest: { enabled: boolean; algorithm: string; keyOutsideStore: boolean };
  /** How many IP/range block rules are in force (the list itself is never published). */
  blockRules: number;
  debug: { active: boolean; until?: number };
  registration?: { enabled: boolean; captcha: boolean };
  inBandUnregister?: boolean;
  exportAvailable?: boolean;
  passwordResetByEmail?: boolean;
  /** Defaults to true: the SQLite backend refuses to open without secure_delete. */
  secureDelete?: boolean;
  /** Hash kinds stored per account (src/core/accounts.ts); defaults to SCRAM-SHA-1 and SCRAM-SHA-256. */
  passwordHashes?: string[];
  /** The upload module's limits where it is enabled (src/modules/upload). */
  fileUpload?: { quotaBytes: number; maxFileBytes: number };
  /** Hosts where the e2e-policy module requires end-to-end encryption for one-to-one chats. */
  endToEndRequiredOn?: string[];
  /**
   * Modules turned off on a host whose stores there still hold data (src/operations/leftover-data.ts):
   * the policy states that data as stored, so it never claims less than what is kept.
   */
  leftover?: readonly { host: string; module: string }[];
}



/**
 * Derives the policy facts. What each enabled module stores comes from its store declarations
 * (`stores` in its definition), the same ones ctx.store enforces, so the page can't drift from the code.
 */
export function derivePolicyFacts(config: ServerConfig, state: PolicyState, modules: ReadonlyMap<string, Pick<ModuleSpec, 'name' | 'stores'>>): UnstampedPolicyFacts {
  const hosts = [...config.hosts.keys()];
  const hashes = state.passwordHashes ?? ['SCRAM-SHA-1', 'SCRAM-SHA-256'];
  const registration = state.registration ?? { enabled: false, captcha: false };
  const passwordResetByEmail = state.passwordResetByEmail ?? false;

  const stored: StoredData[] = [{
    source: 'account',
    what: 'Account',
    detail: `your address (user name and domain) and, for each of ${hashes.length > 1 ? `${hashes.slice(0, -1).join(', ')} and ${hashes[hashes.length - 1]}` : hashes.join('')}, a salted password hash (salt, iteration count and derived keys), from which the password can't be read back; never the password itself`,
  }];
  if (config.fast.enabled) {
    // src/core/fast-tokens.ts: what a XEP-0484 login token leaves behind.
    stored.push({
      source: 'fast',
      what: 'Login tokens (FAST)',
      detail: 'only if your app asks to log in faster next time: for each such app, a hash of its login token (never the token itself), the kind of login it is for, when it was issued and when it expires, and a keyed hash of the app\'s installation id (never the id itself); deleted when the token expires, when you log out in the app, when your password changes or your account is deleted',
    });
  }
  // Module data in a stable order: the first host's module order, then any other host's.
  // A module turned off whose data is still stored there counts as storing it (leftoverOn).
  const byModule = new Map<string, { privacy: ModulePrivacy; hosts: string[]; leftoverOn: string[] }>();
  const archiveHosts: string[] = [];
  const archiveLeftoverOn: string[] = [];
  for (const [host, hc] of config.hosts) {
    const leftover = (state.leftover ?? []).filter((l) => l.host === host && !hc.modules.has(l.module)).map((l) => l.module);
    for (const name of [...hc.modules.keys(), ...leftover]) {
      let entry = byModule.get(name);
      if (!entry) {
        const mod = modules.get(name);
        if (!mod) throw new Error(`policy: module ${name} is not known`);
        entry = { privacy: privacyOf(mod), hosts: [], leftoverOn: [] };
        byModule.set(name, entry);
      }
      if (entry.hosts.includes(host)) continue;
      const isLeftover = !hc.modules.has(name);
      if (entry.privacy.archive && !archiveHosts.includes(host)) {
        archiveHosts.push(host);
        if (isLeftover) archiveLeftoverOn.push(host);
      }
      entry.hosts.push(host);
      if (isLeftover) entry.leftoverOn.push(host);
    }
  }
  for (const [name, { privacy, hosts: onHosts, leftoverOn }] of byModule) {
    for (const s of privacy.stored) {
      stored.push({
        source: name, ...s,
        ...(onHosts.length === hosts.length ? {} : { hosts: onHosts }),
        ...(leftoverOn.length > 0 ? { leftoverOn } : {}),
      });
    }
  }
  const archive: PolicyFacts['archive'] = archiveHosts.length === 0 ? { enabled: false } : archiveHosts.length === hosts.length ? { enabled: true } : { enabled: true, hosts: archiveHosts };
  if (archiveLeftoverOn.length > 0) archive.leftoverOn = archiveLeftoverOn;

  return {
    serviceName: config.policy.service_name,
    hosts,
    operator: { name: config.policy.operator_name, contact: config.policy.contact, jurisdiction: config.policy.jurisdiction },
    extraTerms: [...config.policy.extra_terms],
    stored,
    retention: retentionFacts(state.retentionRules, hosts),
    retentionIntervalMs: config.security.retention_interval,
    archive,
    encryptionAtRest: { ...state.encryptionAtRest },
    tls: { minVersion: config.tls.min_version, required: true },
    addresses: {
      logged: false,
      failedLoginWindowMs: config.security.failed_login_window,
      ...(config.log.failed_login_file ? { failedLoginLogRetentionMs: config.log.failed_login_retention } : {}),
    },
    logging: { level: config.log.level, debugOnDemand: true },
    deletion: { inBand: state.inBandUnregister ?? false, secureDelete: state.secureDelete ?? true },
    exportAvailable: state.exportAvailable ?? false,
    registration: { ...registration },
    passwordResetByEmail,
    ...(state.fileUpload ? { fileUpload: { ...state.fileUpload } } : {}),
    ...endToEnd(state.endToEndRequiredOn ?? [], hosts),
    status: {
      blockRules: state.blockRules,
      debugActive: state.debug.active,
      ...(state.debug.active && state.debug.until !== undefined ? { debugUntil: new Date(state.debug.until).toISOString() } : {}),
    },
  };
}

function endToEnd(requiredOn: readonly string[], hosts: readonly string[]): Pick<UnstampedPolicyFacts, 'endToEndRequired'> {
  const on = hosts.filter((h) => requiredOn.includes(h));
  if (on.length === 0) return {};
  return { endToEndRequired: on.length === hosts.length ? {} : { hosts: on } };
}

/**
 * One fact per (name, limit); hosts are named only when a name has different limits on
 * different hosts. Sorted by name, then limit, so the fingerprint doesn't depend on start order.
 */
function retentionFacts(rules: PolicyState['retentionRules'], allHosts: string[]): RetentionFact[] {
  const byName = new Map<string, Map<number, Set<string> | null>>();
  for (const r of rules) {
    const ages = byName.get(r.name) ?? new Map<number, Set<string> | null>();
    byName.set(r.name, ages);
    const current = ages.get(r.maxAgeMs);
    // A server-wide rule (no host) covers every host with that limit.
    if (r.host === undefined) ages.set(r.maxAgeMs, null);
    else if (current !== null) ages.set(r.maxAgeMs, (current ?? new Set<string>()).add(r.host));
  }
  const order = (h: string) => {
    const i = allHosts.indexOf(h);
    return i < 0 ? allHosts.length : i;
  };
  const out: RetentionFact[] = [];
  for (const [name, ages] of [...byName].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    for (const [maxAgeMs, hosts] of [...ages].sort((a, b) => a[0] - b[0])) {
      if (ages.size === 1 || hosts === null) out.push({ name, maxAgeMs });
      else out.push({ name, maxAgeMs, hosts: [...hosts].sort((a, b) => order(a) - order(b) || (a < b ? -1 : 1)) });
    }
  }
  return out;
}

/** JSON with object keys sorted at every level; arrays keep their order (it is meaningful). */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** SHA-256 (hex) of the policy-relevant facts: everything but the date and the current status. */
export function policyFingerprint(facts: UnstampedPolicyFacts | PolicyFacts): string {
  const { status: _status, ...rest } = facts;
  const relevant: Record<string, unknown> = { ...rest, textVersion: POLICY_TEXT_VERSION };
  delete relevant['policyLastChanged'];
  return createHash('sha256').update(canonicalJson(relevant)).digest('hex');
}

/** What the server keeps between starts to date the policy (a type, so it fits a KeyValueStore<Json>). */
export type PolicyStamp = {
  fingerprint: string;
  /** ISO 8601 time the fingerprint last changed. */
  changed: string;
};

/** Dates the facts: the previous date while the fingerprint is unchanged, else now. */
export function stampPolicy(
  facts: UnstampedPolicyFacts,
  previous: PolicyStamp | undefined,
  now: Date = new Date(),
): { facts: PolicyFacts; stamp: PolicyStamp } {
  const fingerprint = policyFingerprint(facts);
  const stamp = previous && previous.fingerprint === fingerprint ? { ...previous } : { fingerprint, changed: now.toISOString() };
  return { facts: { ...facts, policyLastChanged: stamp.changed }, stamp };
}
