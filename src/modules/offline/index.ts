// XEP-0160 Best Practices for Handling Offline Messages, with XEP-0203 delay stamps: a small,
// self-purging buffer for messages to accounts that have no session to take them.
import { KeyedLock } from '../../lib/keyed-lock.ts';
import { defineModule } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import type { Session } from '../../core/session.ts';
import { elementFromJson, elementToJson, type XmlJson } from '../../lib/xml-json.ts';
import { NS_DELAY, delayElement } from './delay.ts';
import { offlineVerdict } from './storable.ts';

export const NS_MSGOFFLINE = 'msgoffline';


/** session.data marker: the session went available with a negative priority, so nothing was delivered yet. */
const WAITING = 'waiting-for-priority';

export const offline = defineModule({
  name: 'offline',
  description: 'Keeps messages for accounts with no session online (XEP-0160) and delivers them, stamped (XEP-0203), at the next login; purged after max_age.',
  privacy: {
    stored: [{
      what: 'Offline messages',
      detail: 'messages sent to you while none of your clients is online, kept until you come online to receive them or until they expire',
    }],
  },
  xeps: [
    { number: 160, version: '1.0' },
    { number: 203, version: '2.0' },
  ],
  options: {
    max_age: option.period('7d', 'Offline messages older than this are deleted unread (the buffer is not an archive).', { min: 1000 }),
    max_messages: option.integer(500, 'Messages kept per account; past this, senders get <service-unavailable/>.', { min: 1, max: 100_000 }),
  },
  setup(ctx) {
    const archive = ctx.store.archive<XmlJson>('offline');
    const { max_age: maxAge, max_messages: maxMessages } = ctx.options;
    /** user -> tail of that user's queue, so storing and delivering never interleave. */
    const queues = new KeyedLock();
    const locked = <T>(user: string, fn: () => Promise<T>): Promise<T> => queues.run(user, fn);

    // §4: a server supporting offline storage "SHOULD return a msgoffline feature".
    ctx.disco.addFeature(NS_MSGOFFLINE);

    // The router's "no resource to take it" (RFC 6121 §8.5.2.2.1): store, or decline so it bounces.
    ctx.hooks.on('message/offline', async ({ stanza, from, to }) => {
      const verdict = offlineVerdict(stanza);
      if (verdict === 'drop') return true;
      if (verdict === 'refuse') return false;
      const user = to.local;
      const copy = stanza.clone();
      copy.attrs['from'] = from.toString();
      // The resource it was sent to may never come back: the account's next session gets it.
      copy.attrs['to'] = to.bare().toString();
      // A <delay/> claiming to come from this server is ours to add, never the sender's.
      copy.children = copy.children.filter((c) => typeof c === 'string' || c.name !== 'delay' || c.attrs['xmlns'] !== NS_DELAY || c.attrs['from'] !== ctx.host);
      const outcome = await locked(user, async () => {
        // A session came online while this message waited for a delivery in progress: it is
        // routed again (below, outside the lock) rather than left in storage until the next login.
        if (ctx.sessions.available(ctx.host, user).some((s) => s.priority >= 0)) return 'online';
        // §2 step 3: "if not (e.g., because the recipient's offline message queue is full), the
        // server returns a <service-unavailable/> error to the sender" (we decline; the router bounces).
        if ((await archive.count(user)) >= maxMessages) return 'full';
        await archive.append(user, elementToJson(copy), new Date());
        return 'stored';
      });
      if (outcome === 'online') await ctx.route(copy);
      return outcome !== 'full';
    });

    /** §2 step 5: deliver in order to the resource that became available, then forget them. */
    const deliver = (session: Session): Promise<void> =>
      locked(session.user, async () => {
        const entries = await archive.list(session.user);
        if (entries.length === 0) return;
        const cutoff = Date.now() - maxAge;
        let sent = 0;
        for (const entry of entries) {
          // Past max_age but not purged yet: expired all the same.
          if (entry.when.getTime() < cutoff) continue;
          let message;
          try {
            message = elementFromJson(entry.value);
          } catch (err) {
            ctx.log.warn({ err, entry: entry.id }, 'unreadable offline message skipped');
            continue;
          }
          // §2: "it is RECOMMENDED for the server to add a XEP-0203 extension".
          message.append(delayElement(ctx.host, entry.when, 'Offline Storage'));
          session.send(message);
          sent++;
        }
        await archive.delete(session.user, entries.map((e) => e.id));
        ctx.log.debug({ user: session.user, sent }, 'offline messages delivered');
      });

    // §2 step 5: "When the recipient next sends non-negative available presence".
    ctx.hooks.on('session/initial-presence', async ({ session }) => {
      if (session.priority < 0) session.data.set(ctx.name, WAITING);
      else await deliver(session);
    });
    // A session that came online with a negative priority gets them once it raises its priority.
    ctx.hooks.on('presence/broadcast', async ({ stanza, origin }) => {
      if (origin.data.get(ctx.name) !== WAITING || stanza.attrs['type'] !== undefined || origin.priority < 0) return;
      origin.data.delete(ctx.name);
      await deliver(origin);
    });

    // The privacy promise: nothing outlives max_age. The retention engine runs this at start and
    // at least twice per max_age, and states the limit on the privacy page.
    ctx.retention('offline messages', maxAge, (cutoff) => archive.purgeOlderThan(cutoff));
  },
});
