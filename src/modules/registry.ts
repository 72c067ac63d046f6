// The only list of modules (static imports, so tsc sees them all). Enabled per host in config.
import type { AnyModule } from '../core/modules.ts';

import { disco } from './disco/index.ts';
import { ping } from './ping/index.ts';
import { version } from './version/index.ts';
import { time } from './time/index.ts';

const all: AnyModule[] = [
  disco,
  ping,
  version,
  time,
] as AnyModule[];

export const moduleRegistry: ReadonlyMap<string, AnyModule> = new Map(all.map((m) => [m.name, m]));
export const builtinModuleNames: string[] = all.map((m) => m.name);
