// `jabberx check-config`: load and validate the configuration, including each host's modules, the
// certificates (as `jabberx check certs` does) and the master key: what `start` needs. It writes nothing.
import { validateHostModules } from '../core/module-loader.ts';
import { moduleRegistry } from '../modules/registry.ts';
import type { Command } from './command.ts';
import { preflight } from './preflight.ts';
import { leftoverWarnings } from './leftover-check.ts';

export const EXIT_CONFIG = 78;

export const checkConfig: Command = async ({ config }) => {
  const cfg = config();
  for (const [host, h] of cfg.hosts) validateHostModules(host, h, moduleRegistry);
  const { problems, notes, warnings } = await preflight(cfg);
  const source = cfg.configPath ?? 'embedded defaults';
  for (const p of problems) process.stderr.write(`jabberx: ${p.message}\n`);
  if (problems.length) {
    process.stderr.write(`${source}: ${problems.length} problem(s)\n`);
    return EXIT_CONFIG;
  }
  const leftover = await leftoverWarnings(cfg);
  warnings.push(...leftover.warnings);
  notes.push(...leftover.notes);
  for (const w of warnings) process.stdout.write(`warning: ${w}\n`);
  for (const n of notes) process.stdout.write(`note: ${n}\n`);
  process.stdout.write(`${source}: OK (hosts: ${[...cfg.hosts.keys()].join(', ')})\n`);
  return 0;
};
