// `jabberx purge-module MODULE [--host DOMAIN]...`: erases what a module turned off left stored
// (src/operations/leftover-data.ts), on the running server or on a stopped one.
import { moduleRegistry } from '../modules/registry.ts';
import type { Command } from './command.ts';
import { DataError, OperationError, UsageError } from './errors.ts';
import { withOperations } from './operate.ts';

/** The module is enabled where its data would be erased: exit 65, nothing erased. */
export class ModuleEnabledRefusal extends DataError {}

export const purgeModule: Command = async ({ values, rest, config }) => {
  const cfg = config();
  const module = rest[0];
  if (!module || rest.length > 1) throw new UsageError('usage: jabberx purge-module MODULE [--host DOMAIN]...');
  if (!moduleRegistry.has(module)) throw new UsageError(`${module} is not a module of this server (modules: ${[...moduleRegistry.keys()].join(', ')})`);
  const hosts = values.host ?? [];
  for (const h of hosts) if (!cfg.hosts.has(h)) throw new UsageError(`--host ${h}: not a host of this server (hosts: ${[...cfg.hosts.keys()].join(', ')})`);
  // Checked here against the configuration too, so a refusal is the same exit code whether or not a server runs.
  const enabledOn = [...cfg.hosts].filter(([, hc]) => hc.modules.has(module)).map(([h]) => h);
  const refused = hosts.length > 0 ? hosts.filter((h) => enabledOn.includes(h)) : enabledOn.length === cfg.hosts.size ? enabledOn : [];
  if (refused.length > 0) {
    throw new ModuleEnabledRefusal(`module ${module} is enabled on ${refused.join(', ')}: its data there is in use, so it is not erased; turn the module off there (and restart) first. Nothing was erased.`);
  }
  const purged = await withOperations(cfg, (run) => run('purge-module', { module, hosts }), {
    remoteError: (message) => (message.startsWith(`module ${module} is enabled`) ? new ModuleEnabledRefusal(message) : new OperationError(message)),
  });
  const targets = hosts.length > 0 ? hosts : [...cfg.hosts.keys()].filter((h) => !enabledOn.includes(h));
  for (const host of targets) {
    const here = purged.filter((p) => p.host === host);
    if (here.length === 0) process.stdout.write(`${host}: nothing of module ${module} was stored\n`);
    for (const p of here) process.stdout.write(`${host}: erased ${p.records} record(s) of module ${module}, store ${p.store}\n`);
  }
  return 0;
};
