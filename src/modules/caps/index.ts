// XEP-0115 Entity Capabilities (v1.6): the server announces its own capabilities in its stream
// features (§6.3), computed from the disco#info it serves, and learns what each client supports
// from the <c/> in its presence: one disco#info query per new 'ver', verified (§5.4) and cached.
// Each available session's verified features are offered as ctx.shared 'caps' and announced by
// the 'caps/known' hook (PEP's +notify filtering, XEP-0163 §4.3).
import { defineModule } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import type { SessionInfo } from '../../core/session.ts';
import { el, type Element } from '../../core/xml/element.ts';
import { CAPS_NODE, capsForms, capsVer, type CapsForm, type CapsIdentity } from '../../lib/caps-ver.ts';
import { BoundedLru } from '../../lib/bounded-lru.ts';
import './api.ts';

export const NS_CAPS = 'http://jabber.org/protocol/caps';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_DATA = 'jabber:x:data';

/** The hashed parts of a disco#info result (§5.4 step 3.3). */
export function discoInfoParts(query: Element): { identities: CapsIdentity[]; features: string[]; forms: CapsForm[] } {
  const identities = query.getChildren('identity').map((i) => ({
    category: i.attrs['category'] ?? '',
    type: i.attrs['type'] ?? '',
    lang: i.attrs['xml:lang'],
    name: i.attrs['name'],
  }));
  const features = query.getChildren('feature').map((f) => f.attrs['var'] ?? '');
  const forms: CapsForm[] = [];
  for (const x of query.getChildren('x')) {
    if (x.attrs['xmlns'] !== NS_DATA) continue;
    const fields = x.getChildren('field');
    const formType = fields.find((f) => f.attrs['var'] === 'FORM_TYPE');
    // §5.4 3.6: a form without a hidden FORM_TYPE is left out of the hash.
    if (!formType || formType.attrs['type'] !== 'hidden') continue;
    forms.push({
      formType: formType.getChildText('value') ?? '',
      fields: fields.filter((f) => f !== formType).map((f) => ({ name: f.attrs['var'] ?? '', values: f.getChildren('value').map((v) => v.text()) })),
    });
  }
  return { identities, features, forms };
}

export const caps = defineModule({
  name: 'caps',
  description: "Entity capabilities (XEP-0115): announces the server's features in its stream features and learns, verifies and caches what each client supports, in memory only.",
  stores: {},
  enabledByDefault: true,
  xeps: [{ number: 115, version: '1.6' }],
  options: {
    max_cached: option.integer(1000, 'Client capability sets (distinct verified "ver" hashes) kept in memory; the least recently used goes first.', { min: 1, max: 1_000_000 }),
    max_queries: option.integer(100, 'disco#info queries to clients waiting for an answer at once; a new unknown "ver" beyond this is asked about at its next presence.', { min: 1, max: 100_000 }),
  },
  setup(ctx) {
    // Verified feature sets by 'ver': memory only, rebuilt by asking clients again.
    const cache = new BoundedLru<string, ReadonlySet<string>>(ctx.options.max_cached);
    // The verified 'ver' of each available session (one entry per session, dropped when it goes
    // unavailable or closes), and the sessions waiting for a 'ver' being asked about.
    const sessionVer = ctx.sessionState<string>();
    const waiting = new Map<string, Set<SessionInfo>>();
    const known = async (session: SessionInfo, features: ReadonlySet<string>): Promise<void> => {
      await ctx.hooks.emit('caps/known', { session, features });
    };
    ctx.shared.provide('caps', {
      featuresOf(fullJid) {
        const session = ctx.sessions.get(fullJid);
        const ver = session ? sessionVer.get(session) : undefined;
        return ver === undefined ? undefined : cache.get(ver);
      },
    });
    /** 'ver' values being asked about, so a crowd of one client kind costs one query. */
    const asking = new Set<string>();
    const disco = ctx.discoData;

    ctx.disco.addFeature(NS_CAPS);
    let serverVer: string | undefined;
    const ownVer = (): string => (serverVer ??= capsVer(disco.identities, [...disco.features], capsForms(disco.forms.values())));
    // §6.3: the server's caps in the stream features; disco#info answers node#ver (disco module).
    ctx.streamFeatures.add(() => el('c', { xmlns: NS_CAPS, hash: 'sha-1', node: CAPS_NODE, ver: ownVer() }));

    const learn = async (session: SessionInfo, node: string, ver: string): Promise<void> => {
      asking.add(ver);
      try {
        const reply = await ctx.request(el('iq', { type: 'get', to: session.jid.toString() }, el('query', { xmlns: NS_DISCO_INFO, node: `${node}#${ver}` })));
        const query = reply.getChild('query', NS_DISCO_INFO);
        if (!query) return;
        const parts = discoInfoParts(query);
        // §5.4 step 3.7: only a result that hashes to the announced 'ver' is cached (no poisoning);
        // one with duplicates (capsVer throws, §5.4 3.3–3.5) is not either.
        if (capsVer(parts.identities, parts.features, parts.forms) === ver) {
          const features = new Set(parts.features);
          cache.set(ver, features);
          for (const s of waiting.get(ver) ?? []) {
            if (s.presence === undefined || sessionVer.get(s) !== undefined) continue;
            sessionVer.set(s, ver);
            await known(s, features);
          }
        }
      } catch (err) {
        ctx.log.debug({ err }, 'client caps not learnt');
      } finally {
        asking.delete(ver);
        waiting.delete(ver);
      }
    };

    ctx.hooks.on('presence/broadcast', async ({ stanza, origin }) => {
      if (stanza.attrs['type'] === 'unavailable') sessionVer.delete(origin);
      if (stanza.attrs['type'] !== undefined) return;
      const c = stanza.getChild('c', NS_CAPS);
      // Legacy caps (no 'hash', §8.4) can't be verified: ignored.
      const ver = c?.attrs['ver'];
      const node = c?.attrs['node'];
      if (!c || c.attrs['hash'] !== 'sha-1' || !ver || !node) {
        sessionVer.delete(origin);
        return;
      }
      const features = cache.get(ver);
      if (features) {
        if (sessionVer.get(origin) === ver) return;
        sessionVer.set(origin, ver);
        await known(origin, features);
        return;
      }
      sessionVer.delete(origin);
      if (asking.has(ver)) {
        waiting.get(ver)?.add(origin);
        return;
      }
      if (asking.size >= ctx.options.max_queries) return;
      waiting.set(ver, new Set([origin]));
      void learn(origin, node, ver);
    });

    ctx.onClose(() => {
      asking.clear();
      waiting.clear();
    });
  },
});
