// Where the configuration is when --config is not given: a system install's, then the working
// directory's. Without either, `start` serves embedded defaults (README: `npm start` on a fresh
// clone), and commands that would open the store refuse rather than create an empty one.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { SYSTEM_CONFIG_PATH, type ServerConfig } from '../core/config.ts';

export const DEFAULT_CONFIG_PATHS = [SYSTEM_CONFIG_PATH, './jabberx.yml'] as const;

/** --config, else the first default location that exists, else undefined (embedded defaults). */
export function configPathFor(given: string | undefined): string | undefined {
  if (given !== undefined) return given;
  return DEFAULT_CONFIG_PATHS.map((p) => resolve(p)).find((p) => existsSync(p));
}

/** No configuration file and no store of the embedded defaults: exit 78, nothing created. */
export class NoConfigError extends Error {}

/**
 * Refuses to open the store of the embedded defaults (./data) when it does not exist yet: an
 * account command run in the wrong folder must not make a new empty server and report "no users".
 */
export function refuseNewDefaultStore(cfg: ServerConfig): void {
  if (cfg.configPath !== undefined || existsSync(cfg.storage.path)) return;
  throw new NoConfigError(`no configuration file (looked for ${DEFAULT_CONFIG_PATHS.join(' and ')}) and no server data in ${cfg.data_dir}: `
    + 'give --config FILE, or run this in the folder where `jabberx start` runs with the embedded defaults');
}
