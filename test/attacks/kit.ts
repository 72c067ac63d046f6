// Tools for the attack tests (issue 7): the server's resident memory read from /proc while an
// attack runs, and two real users chatting meanwhile whose round trips must keep flowing.
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import type { TestServer } from '../harness/server.ts';
import { match, xml, type TestClient } from '../harness/client.ts';
import { rawLogin, type RawSession } from '../harness/raw.ts';

/** Resident set size of a process in bytes (Linux). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

export const MB = 1024 * 1024;

/** Samples the server's RSS every 100 ms until stopped; reports the peak. */
export function sampleRss(server: TestServer): { stop(): number; peak(): number } {
  const pid = server.process.pid ?? 0;
  let peak = rssOf(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid));
    } catch {
      // the process is gone: the test fails on its own
    }
  }, 100);
  return {
    peak: () => peak,
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

export interface Chatter {
  /** Round trips completed (a message there and an answer back). */
  readonly rounds: number;
  /** The slowest round trip, ms. */
  readonly worstMs: number;
  stop(): Promise<void>;
}

/**
 * Two users who chat the whole time: alice sends, bob answers, one round trip after the other.
 * Every round must complete: a lost message fails the test (its waitFor times out).
 */
export async function startChatter(t: TestContext, server: TestServer, names: [string, string]): Promise<Chatter> {
  const [a, b] = names;
  const alice = await server.connectClient(t, a);
  const bob = await server.connectClient(t, b);
  let rounds = 0;
  let worstMs = 0;
  let running = true;
  let failure: unknown;
  const loop = (async () => {
    while (running) {
      const body = `round ${String(rounds)}`;
      const started = Date.now();
      await alice.send(xml('message', { to: bob.jid.toString(), type: 'chat' }, xml('body', {}, body)));
      await bob.waitFor(match.message(alice.jid.bare().toString(), body), 10_000, `alice's ${body}`);
      await bob.send(xml('message', { to: alice.jid.toString(), type: 'chat' }, xml('body', {}, `re ${body}`)));
      await alice.waitFor(match.message(bob.jid.bare().toString(), `re ${body}`), 10_000, `bob's answer to ${body}`);
      worstMs = Math.max(worstMs, Date.now() - started);
      rounds++;
      alice.clear();
      bob.clear();
      await new Promise((r) => setTimeout(r, 20));
    }
  })().catch((e: unknown) => {
    failure = e;
  });
  return {
    get rounds() {
      return rounds;
    },
    get worstMs() {
      return worstMs;
    },
    async stop() {
      running = false;
      await loop;
      if (failure) throw failure instanceof Error ? failure : new Error(String(failure));
    },
  };
}

/** Logs in with the raw client (an attacker needs no library) and stops reading its input. */
export async function rawUser(server: TestServer, user: string): Promise<RawSession> {
  const password = server.passwords.get(`${user}@${server.domain}`) ?? (await server.adduser(user));
  return rawLogin({ port: server.ports.c2s_starttls, username: user, password, servername: server.domain });
}

/** Stops reading a connection, as a client that never reads. */
export function stopReading(session: RawSession): void {
  session.conn.socket.pause();
}

/** Counts bytes instead of keeping them (for a client that reads a flood). */
export function countInput(session: RawSession): { readonly bytes: number } {
  const socket = session.conn.socket;
  socket.removeAllListeners('data');
  let bytes = 0;
  socket.on('data', (d: string | Buffer) => {
    bytes += d.length;
  });
  return {
    get bytes() {
      return bytes;
    },
  };
}

export type { TestClient };
