// XEP-0160 Best Practices for Handling Offline Messages, with XEP-0203 delay stamps: a small,
// self-purging buffer for messages to accounts that have no session to take them.
import { Buffer } from 'node:buffer';
import { KeyedLock } from '../../lib/keyed-lock.ts';
import { defineModule } from '../../core/modules.ts';
import { option } from '../../core/options.ts';
import type { SessionInfo } from '../../core/session.ts';
import { StanzaError } from '../../core/errors.ts';
import { StorageBusyError } from '../../core/storage.ts';
import { Element } from '../../core/xml/element.ts';
import { elementFromJson, elementToJson, type XmlJson } from '../../core/xml/xml-json.ts';
import { NS_DELAY, delayElement } from './delay.ts';
import { offlineVerdict } from './storable.ts';
import { InFlight } from './in-flight.ts';
import { exportOffline, importOffline } from './portable.ts';
import { DeliveryReceipt, withReceipt } from '../../core/delivery-receipt.ts';

export const NS_MSGOFFLINE = 'msgoffline';


/** Accounts whose queue usage is kept in memory; past this the cache starts over (it is rebuilt from storage). */
const USAGE_CACHE_MAX = 10_000;

/** What one account's queue holds: in total and per sender (bare JID), in messages and bytes. */
interface Usage {
  count: number;
  bytes: number;
  senders: Map<string, { count: number; bytes: number }>;
}

/** Bytes a stored message counts against the quotas: its JSON form, as handed to storage. */
function sizeOf(value: XmlJson): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/** The sender's bare JID, as recorded in the stored copy's 'from'. */
function senderOf(value: XmlJson): string {
  const from = value.attrs['from'];
  if (typeof from !== 'string') return '';
  const slash = from.indexOf('/');
  return slash < 0 ? from : from.slice(0, slash);
}

function addUsage(u: Usage, sender: string, bytes: number): void {
  u.count++;
  u.bytes += bytes;
  const s = u.senders.get(sender) ?? { count: 0, bytes: 0 };
  s.count++;
  s.bytes += bytes;
  u.senders.set(sender, s);
}


type StoreOutcome = 'online' | 'full' | 'sender-share' | 'stored';

export const offline = defineModule({
  name: 'offline',
  description: 'Keeps messages for accounts with no session online (XEP-0160) and delivers them, stamped (XEP-0203), at the next login; purged after max_age.',
  stores: {
    offline: {
      kind: 'archive',
      what: 'Offline messages',
      detail: 'messages sent to you while none of your clients is online, kept until you come online to receive them or until they expire',
    },
  },
  enabledByDefault: true,
  xeps: [
    { number: 160, version: '1.0' },
    { number: 203, version: '2.0' },
  ],
  options: {
    max_age: option.period('7d', 'Offline messages older than this are deleted unread (the buffer is not an archive).', { min: 1000 }),
    max_messages: option.integer(500, 'Messages kept per account; past this, senders get <service-unavailable/>.', { min: 1, max: 100_000 }),
    max_bytes: option.size('4MiB', 'Bytes of messages kept per account (as stored, before encryption); past this, senders get <service-unavailable/>.', { min: 1024 }),
    max_messages_per_sender: option.integer(100, 'Messages one sender may have waiting for one account, so no sender can fill another\'s queue; past this, that sender gets <resource-constraint/>.', { min: 1, max: 100_000 }),
    max_bytes_per_sender: option.size('1MiB', 'Bytes one sender may have waiting for one account; past this, that sender gets <resource-constraint/>.', { min: 1024 }),
  },
  setup(ctx) {
    /** Sessions that went available with a negative priority: nothing was delivered to them yet. */
    const waiting = ctx.sessionState<true>();
    const archive = ctx.store.archive<XmlJson>('offline');
    const {
      max_age: maxAge, max_messages: maxMessages, max_bytes: maxBytes,
      max_messages_per_sender: maxPerSender, max_bytes_per_sender: maxBytesPerSender,
    } = ctx.options;
    /** user -> tail of that user's queue, so storing and delivering never interleave. */
    const queues = new KeyedLock();
    const locked = <T>(user: string, fn: () => Promise<T>): Promise<T> => queues.run(user, fn);
    /**
     * user -> what the queue holds, built from storage at the first message stored for the user
     * and kept up to date while the lock is held; dropped whenever storage changes otherwise
     * (delivery, the retention purge, account deletion), so it is rebuilt rather than wrong.
     * Senders are known only inside the sealed values, so this is the one place they are counted.
     */
    const usage = new Map<string, Usage>();
    /** Moves with every purge, so a usage read from storage before a purge is never cached after it. */
    let purges = 0;
    const usageOf = async (user: string): Promise<Usage> => {
      let u = usage.get(user);
      if (!u) {
        const generation = purges;
        u = { count: 0, bytes: 0, senders: new Map() };
        for (const entry of await archive.list(user)) addUsage(u, senderOf(entry.value), sizeOf(entry.value));
        if (usage.size >= USAGE_CACHE_MAX) usage.clear();
        if (generation === purges) usage.set(user, u);
      }
      return u;
    };

    /** Tells the sender a message was not kept (RFC 6120 §8.3.1: same kind and id, addresses swapped). */
    const bounce = async (stanza: Element, from: string, to: string, error: StanzaError): Promise<void> => {
      const reply = new Element('message', { ...stanza.attrs, type: 'error', from: to, to: from }, [...stanza.children, error.toElement()]);
      await ctx.route(reply);
    };

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
      const value = elementToJson(copy);
      const bytes = sizeOf(value);
      const sender = from.bare().toString();
      let outcome: StoreOutcome;
      try {
        outcome = await locked(user, async (): Promise<StoreOutcome> => {
          // A session came online while this message waited for a delivery in progress: it is
          // routed again (below, outside the lock) rather than left in storage until the next login.
          if (ctx.sessions.available(ctx.host, user).some((s) => s.priority >= 0)) return 'online';
          const u = await usageOf(user);
          // §2 step 3: "if not (e.g., because the recipient's offline message queue is full), the
          // server returns a <service-unavailable/> error to the sender" (we decline; the router bounces).
          if (u.count >= maxMessages || u.bytes + bytes > maxBytes) return 'full';
          // One sender's share: without it, one sender could fill the queue and lock everyone else out.
          const mine = u.senders.get(sender);
          if ((mine?.count ?? 0) >= maxPerSender || (mine?.bytes ?? 0) + bytes > maxBytesPerSender) return 'sender-share';
          await archive.append(user, value, new Date());
          addUsage(u, sender, bytes);
          return 'stored';
        });
      } catch (err) {
        // Storage failed for this message (e.g. the database stayed locked past storage.busy_wait):
        // the sender hears of it, the stream and every other message go on.
        usage.delete(user);
        const busy = err instanceof StorageBusyError;
        ctx.log.warn({ err }, busy ? 'offline message not stored: storage busy' : 'offline message not stored: storage failed');
        await bounce(copy, from.toString(), to.toString(), busy
          ? new StanzaError('resource-constraint', 'The message could not be stored for later delivery; try again later')
          : new StanzaError('internal-server-error', 'The message could not be stored for later delivery'));
        return true;
      }
      if (outcome === 'online') await ctx.route(copy);
      if (outcome === 'sender-share') {
        // RFC 6120 §8.3.3.18 resource-constraint (type wait): this sender may send again once
        // the recipient has collected what is waiting.
        await bounce(copy, from.toString(), to.toString(), new StanzaError('resource-constraint', 'Too many of your messages are already waiting for this account'));
        return true;
      }
      return outcome !== 'full';
    });

    /**
     * Messages out with a session that acknowledges (XEP-0198): deleted once acknowledged; if
     * the session ends first they stay stored and go to another session of the account, if any.
     */
    const inFlight = new InFlight(async (user, ids) => {
      try {
        await locked(user, async () => {
          await archive.delete(user, ids);
          // The last one is acknowledged: whatever stays stored unreadable (list() skips damaged
          // entries) goes too, as when a delivery hands everything over at once.
          if (inFlight.count(user) === 0 && (await archive.count(user)) > 0 && (await archive.list(user)).length === 0) await archive.deleteAll(user);
        });
      } catch (err) {
        // Delivered again at the next login: a duplicate (same id) rather than a loss.
        ctx.log.warn({ err }, 'acknowledged offline messages not deleted: storage failed');
      }
      usage.delete(user);
    });
    const settled = (user: string, id: string, acknowledged: boolean): void => {
      inFlight.settled(user, id, acknowledged);
      if (acknowledged) return;
      const next = ctx.sessions.available(ctx.host, user).find((s) => s.priority >= 0 && waiting.get(s) !== true);
      if (next) void deliver(next);
    };

    /**
     * §2 step 5: deliver in order to the resource that became available, then forget them. A
     * message the session does not take (ctx.deliver returns false: closed or backed up) stops
     * the delivery: it and every later one stay stored for the next time. A session with stream
     * management gets them before they are forgotten: each is deleted when acknowledged.
     */
    const deliver = (session: SessionInfo): Promise<void> =>
      locked(session.user, async () => {
        const user = session.user;
        try {
          const entries = await archive.list(user);
          if (entries.length === 0) {
            // Nothing readable; whatever is stored is damaged (list skipped it): dropped here
            // rather than kept until max_age. A read-only check first, so logins don't write.
            if ((await archive.count(user)) > 0) await archive.deleteAll(user);
            usage.delete(user);
            return;
          }
          const cutoff = Date.now() - maxAge;
          const done: string[] = [];
          let sent = 0;
          let refused = false;
          let held = 0;
          for (const entry of entries) {
            // Out with another session, waiting for its acknowledgement.
            if (inFlight.has(user, entry.id)) {
              held++;
              continue;
            }
            // Past max_age but not purged yet: expired all the same.
            if (entry.when.getTime() < cutoff) {
              done.push(entry.id);
              continue;
            }
            let message;
            try {
              message = elementFromJson(entry.value);
            } catch (err) {
              ctx.log.warn({ err, entry: entry.id }, 'unreadable offline message skipped');
              done.push(entry.id);
              continue;
            }
            // §2: "it is RECOMMENDED for the server to add a XEP-0203 extension".
            message.append(delayElement(ctx.host, entry.when, 'Offline Storage'));
            let outcome = 'pending' as 'pending' | 'acknowledged' | 'lost';
            let later = false;
            const receipt = new DeliveryReceipt(true, (acknowledged) => {
              if (later) settled(user, entry.id, acknowledged);
              else outcome = acknowledged ? 'acknowledged' : 'lost';
            });
            if (!(await withReceipt(receipt, () => ctx.deliver(message, session)).catch(() => false))) {
              receipt.lost();
              refused = true;
              break;
            }
            receipt.routed();
            sent++;
            // Settled at once: written to a stream without acknowledgements.
            if (outcome === 'acknowledged') done.push(entry.id);
            else if (outcome === 'pending') {
              later = true;
              inFlight.add(user, entry.id);
              held++;
            }
          }
          usage.delete(user);
          if (refused) {
            await archive.delete(user, done);
            ctx.log.info({ sent, kept: entries.length - done.length }, 'offline delivery stopped: the session took no more; the rest stays stored');
          } else if (held > 0) {
            // The rest goes as the client acknowledges it.
            if (done.length > 0) await archive.delete(user, done);
          } else {
            // Everything was handed over: the whole queue goes, damaged entries that list()
            // skipped included. Nothing new can have arrived meanwhile (the lock is held).
            await archive.deleteAll(user);
            ctx.log.debug({ user, sent }, 'offline messages delivered');
          }
        } catch (err) {
          // Storage failed (e.g. locked past storage.busy_wait): what was not deleted is delivered
          // again next time. The session's stream goes on either way.
          usage.delete(user);
          ctx.log.warn({ err }, 'offline delivery incomplete: storage failed');
        }
      });

    // §2 step 5: "When the recipient next sends non-negative available presence".
    ctx.hooks.on('session/initial-presence', async ({ session }) => {
      if (session.priority < 0) waiting.set(session, true);
      else await deliver(session);
    });
    // A session that came online with a negative priority gets them once it raises its priority.
    ctx.hooks.on('presence/broadcast', async ({ stanza, origin }) => {
      if (waiting.get(origin) !== true || stanza.attrs['type'] !== undefined || origin.priority < 0) return;
      waiting.delete(origin);
      await deliver(origin);
    });
    ctx.hooks.on('user/export', ({ user, add }) => exportOffline(archive, ctx.host, user, add));
    ctx.hooks.on('user/import', async ({ user, elements }) => {
      await locked(user, () => importOffline(archive, ctx.host, user, elements, { maxAge, maxMessages, maxBytes }));
      usage.delete(user);
    });
    // Account deletion removes the queue in storage; the cached usage goes with it.
    ctx.hooks.on('user/deleted', ({ user }) => {
      usage.delete(user);
      inFlight.forget(user);
    });

    // The privacy promise: nothing outlives max_age. The retention engine runs this at start and
    // at least twice per max_age, and states the limit on the privacy page.
    ctx.retention('offline messages', maxAge, async (cutoff) => {
      const purged = await archive.purgeOlderThan(cutoff);
      if (purged > 0) {
        purges++;
        usage.clear();
      }
      return purged;
    });
  },
});
