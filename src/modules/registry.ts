// The only list of modules (static imports, so tsc sees them all). Enabled per host in config.
import type { AnyModule } from '../core/modules.ts';

import { disco } from './disco/index.ts';
import { ping } from './ping/index.ts';
import { version } from './version/index.ts';
import { time } from './time/index.ts';
import { roster } from './roster/index.ts';
import { vcard } from './vcard/index.ts';
import { privateStorage } from './private/index.ts';
import { blocking } from './blocking/index.ts';
import { offline } from './offline/index.ts';
import { caps } from './caps/index.ts';
import { carbons } from './carbons/index.ts';
import { csi } from './csi/index.ts';
import { register } from './register/index.ts';
import { adhoc } from './adhoc/index.ts';
import { adminCommands } from './admin-commands/index.ts';
import { invites } from './invites/index.ts';
import { dataExport } from './data-export/index.ts';
import { email } from './email/index.ts';
import { webAccount } from './web-account/index.ts';
import { upload } from './upload/index.ts';
import { muc } from './muc/index.ts';
import { e2ePolicy } from './e2e-policy/index.ts';
import { externalServices } from './external-services/index.ts';
import { lastActivity } from './last-activity/index.ts';
import { mam } from './mam/index.ts';
import { pep } from './pep/index.ts';
import { pubsub } from './pubsub/index.ts';

const all: AnyModule[] = [
  disco,
  ping,
  version,
  time,
  roster,
  vcard,
  privateStorage,
  blocking,
  offline,
  caps,
  carbons,
  csi,
  register,
  adhoc,
  adminCommands,
  invites,
  dataExport,
  email,
  webAccount,
  upload,
  muc,
  e2ePolicy,
  externalServices,
  lastActivity,
  mam,
  pep,
  pubsub,
] as AnyModule[];

export const moduleRegistry: ReadonlyMap<string, AnyModule> = new Map(all.map((m) => [m.name, m]));
export const builtinModuleNames: string[] = all.map((m) => m.name);
/** Enabled when the configuration has no top-level `modules` key: each module's own enabledByDefault. */
export const defaultModuleNames: string[] = all.filter((m) => m.enabledByDefault).map((m) => m.name);
