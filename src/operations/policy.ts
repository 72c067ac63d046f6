// The published terms and privacy policy (src/policy/): their facts from the server's state, and
// the stamp that moves the "last changed" date only when a policy-relevant fact changed.
import { derivePolicyFacts, stampPolicy as stamp, type PolicyFacts, type PolicyStamp, type PolicyState, type UnstampedPolicyFacts } from '../policy/facts.ts';
import { SERVER_SCOPE, type OperationsDeps } from './deps.ts';

/** The raw option of a module on each host where it is enabled (validated at start; the default when unset). */
function moduleOption(deps: OperationsDeps, module: string, key: string, fallback: unknown): unknown[] {
  const out: unknown[] = [];
  for (const hc of deps.config.hosts.values()) {
    const m = hc.modules.get(module);
    if (m) out.push(Object.hasOwn(m.options, key) ? m.options[key] : fallback);
  }
  return out;
}

function policyState(deps: OperationsDeps): PolicyState {
  // XEP-0077 (src/modules/register): sign-up on some host unless every host is `closed`.
  const modes = moduleOption(deps, 'register', 'mode', 'closed');
  const everyHost = (module: string) => [...deps.config.hosts.values()].every((hc) => hc.modules.has(module));
  return {
    retentionRules: deps.retention.rules(),
    encryptionAtRest: { enabled: true, algorithm: 'AES-256-GCM', keyOutsideStore: true },
    blockRules: deps.blocks.list().length,
    debug: { active: deps.debugLog.enabled, until: deps.debugLog.until },
    registration: { enabled: modes.some((m) => m !== 'closed'), captcha: modes.includes('captcha') },
    inBandUnregister: everyHost('register'),
    exportAvailable: true,
    // The email module's own store declaration puts the address on /privacy.
    passwordResetByEmail: [...deps.config.hosts.values()].some((hc) => hc.modules.has('email')),
    ...fileUpload(deps),
    endToEndRequiredOn: endToEndRequiredOn(deps),
    leftover: deps.leftover.stores,
  };
}

/** Hosts where the e2e-policy module is on with require_for_chat (its default). */
function endToEndRequiredOn(deps: OperationsDeps): string[] {
  const out: string[] = [];
  for (const [host, hc] of deps.config.hosts) {
    const m = hc.modules.get('e2e-policy');
    if (m && m.options['require_for_chat'] !== false) out.push(host);
  }
  return out;
}

/** The upload module's quota and file size limit (the largest of the hosts that enable it). */
function fileUpload(deps: OperationsDeps): Pick<PolicyState, 'fileUpload'> {
  const decls = deps.registry.get('upload')?.options;
  const quota = decls?.['quota'];
  const maxFile = decls?.['max_file_size'];
  if (!quota || !maxFile) return {};
  const quotas = moduleOption(deps, 'upload', 'quota', quota.default).map((v) => quota.parse(v) as number);
  const sizes = moduleOption(deps, 'upload', 'max_file_size', maxFile.default).map((v) => maxFile.parse(v) as number);
  if (quotas.length === 0) return {};
  return { fileUpload: { quotaBytes: Math.max(...quotas), maxFileBytes: Math.max(...sizes) } };
}

function currentFacts(deps: OperationsDeps): UnstampedPolicyFacts {
  return derivePolicyFacts(deps.config, policyState(deps), deps.registry);
}

/** What the server does, as the published pages state it, dated `lastChanged` (see stampPolicy). */
export function policyFacts(deps: OperationsDeps, lastChanged: string): PolicyFacts {
  return { ...currentFacts(deps), policyLastChanged: lastChanged };
}

/** Compares the facts with the stored stamp and returns the "last changed" date (ISO 8601). */
export async function stampPolicy(deps: OperationsDeps): Promise<string> {
  const store = deps.storage.keyval<PolicyStamp>(SERVER_SCOPE, 'policy-stamp');
  const { stamp: next } = stamp(currentFacts(deps), await store.get('_'));
  await store.set('_', next);
  return next.changed;
}
