// `jabberx check-config`: load and validate the configuration, including each host's modules.
import { validateHostModules } from '../core/module-loader.ts';
import { moduleRegistry } from '../modules/registry.ts';
import type { Command } from './command.ts';

export const checkConfig: Command = async ({ config }) => {
  const cfg = config();
  for (const [host, h] of cfg.hosts) validateHostModules(host, h, moduleRegistry);
  process.stdout.write(`${cfg.configPath ?? 'embedded defaults'}: OK (hosts: ${[...cfg.hosts.keys()].join(', ')})\n`);
  return 0;
};
