// What the caps module (XEP-0115) offers other modules: what each available session supports, as
// verified from its caps 'ver' (e.g. PEP's filtered notifications, XEP-0163 §4.3).
import type { SessionInfo } from '../../core/session.ts';

export interface CapsService {
  /** The verified disco#info features of an available full JID; undefined when not (yet) known. */
  featuresOf(fullJid: string): ReadonlySet<string> | undefined;
}

declare module '../../core/shared.ts' {
  interface SharedMap {
    caps: CapsService;
  }
}

declare module '../../core/hooks.ts' {
  interface HookMap {
    /** A session's capabilities became known (its presence carried a verified or newly verified 'ver'), or changed. */
    'caps/known': { session: SessionInfo; features: ReadonlySet<string> };
  }
}
