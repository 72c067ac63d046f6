// `npm run bench`: issue 4's side-by-side benchmark of JabberX, Prosody and ejabberd over XMPP
// c2s with STARTTLS (RFC 6120) — idle sessions, one-to-one chat, login rate, presence fan-out,
// in-band registration and password change (XEP-0077), fan-out in one multi-user chat room
// (XEP-0045), and personal eventing notifications (XEP-0163).
// Each server runs alone, from its own temporary folder and port on 127.0.0.1, with the same
// certificate, SCRAM iteration count and storage kind (SQLite); the load comes from one or two
// worker processes (bench/load-worker.ts). Writes bench/results/<timestamp>.json and a table.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { parseOptions, USAGE, type BenchOptions } from './options.ts';
import { accountNames, computeCredentials, idleUser, passwordOf, type Credential, type RosterPlan } from './accounts.ts';
import { makeCertificate, debVersion, type BenchServer, type ServerSetup } from './servers/common.ts';
import { JabberXServer } from './servers/jabberx.ts';
import { ProsodyServer } from './servers/prosody.ts';
import { EjabberdServer } from './servers/ejabberd.ts';
import { WorkerPool } from './worker-pool.ts';
import { runChat, runIdle, runLogin, runPassword, runPep, runPresence, runRegister, runRoom, seedOverXmpp, settle, type Ctx } from './scenarios.ts';
import { table, type Results, type ServerResult } from './report.ts';
import { XmppClient } from './xmpp-client.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

function machine(): Record<string, string | number> {
  let distro = '';
  try {
    distro = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    // not Linux-like
  }
  let openssl = '';
  try {
    openssl = execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    // no CLI
  }
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? '',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    distro,
    node: process.version,
    nodeOpenssl: process.versions.openssl ?? '',
    opensslCli: openssl,
    prosody: debVersion('prosody'),
    ejabberd: debVersion('ejabberd'),
    erlang: debVersion('erlang-base'),
  };
}

function accountCounts(o: BenchOptions): { idle: number; fan: number; pep: number } {
  let idle = 1;
  if (o.scenarios.includes('idle')) idle = Math.max(idle, ...o.idleLevels);
  if (o.scenarios.includes('chat')) idle = Math.max(idle, 2 * Math.max(...o.chatPairs));
  if (o.scenarios.includes('login')) idle = Math.max(idle, o.loginUsers);
  if (o.scenarios.includes('password')) idle = Math.max(idle, o.registerConcurrency + 1);
  if (o.scenarios.includes('room')) idle = Math.max(idle, o.roomOccupants);
  return { idle, fan: o.scenarios.includes('presence') ? o.fanGroup : 0, pep: o.scenarios.includes('pep') ? o.pepUsers : 0 };
}

/** One login as a smoke test: proves accounts, TLS and SCRAM work, and tells the TLS parameters. */
async function smoke(server: BenchServer): Promise<{ protocol: string; cipher: string }> {
  const user = idleUser(0);
  const c = new XmppClient({ host: server.host, port: server.port, domain: server.domain, user, password: passwordOf(user), resource: 'smoke', timeoutMs: 20000 });
  await c.connect();
  await c.close();
  return { protocol: c.tlsProtocol, cipher: c.tlsCipher };
}

async function benchServer(server: BenchServer, creds: Credential[], opts: BenchOptions, pool: WorkerPool): Promise<ServerResult> {
  const res: ServerResult = { name: server.name, version: server.version, failures: [] };
  log(`${server.name} ${server.version}: creating ${creds.length} accounts`);
  const rosters: RosterPlan = {
    idleUsers: opts.scenarios.includes('idle') ? Math.max(...opts.idleLevels) : 0,
    idleSize: opts.scenarios.includes('idle') ? opts.rosterSize : 0,
    clique: opts.scenarios.includes('presence') ? opts.fanGroup : 0,
    ring: opts.scenarios.includes('pep') ? opts.pepUsers : 0,
    ringSize: opts.scenarios.includes('pep') ? opts.pepContacts : 0,
  };
  const prep = await server.prepare(creds, rosters);
  res.accounts = { count: creds.length, method: prep.method, seconds: prep.seconds };
  log(`  ${prep.method}: ${prep.seconds.toFixed(1)} s (${(creds.length / prep.seconds).toFixed(0)} accounts/s)`);
  await server.start();
  log(`  started, pid ${server.pid}, port ${server.port}`);
  try {
    res.tls = await smoke(server);
    log(`  smoke login OK (${res.tls.protocol}, ${res.tls.cipher})`);
    await pool.all('target', () => ({ host: server.host, port: server.port, domain: server.domain, sourceAddrs: opts.sourceAddrs, streamManagement: opts.streamManagement }));
    const ctx: Ctx = { opts, server, pool, log };
    if (!prep.rostersSeeded && (rosters.idleUsers || rosters.clique || rosters.ring)) {
      // Its storage is sealed: build the same rosters over XMPP (roster sets, subscription
      // handshakes), then restart so the seeding's heap growth does not count as session memory.
      const t0 = performance.now();
      res.accounts.rosterSeed = await seedOverXmpp(ctx, rosters);
      res.accounts.rosterSeedSeconds = (performance.now() - t0) / 1000;
      await server.stop();
      await server.start();
      log(`  restarted, pid ${server.pid}`);
    }
    await settle(ctx);
    let steps = 0;
    const step = async (name: string, fn: () => Promise<void>) => {
      try {
        log(` ${name}`);
        // Each measurement starts from a freshly started server: what one scenario leaves behind
        // (heap grown by 19,000 sessions, caches) must not slow down or flatter the next.
        if (steps++ > 0) {
          await server.stop();
          await server.start();
          await smoke(server);
          await settle(ctx);
        }
        await fn();
      } catch (e) {
        const msg = `${name}: ${(e as Error).message}`;
        res.failures.push(msg);
        log(`  FAILED ${msg}`);
        await pool.all('closeAll', () => ({ graceful: false, concurrency: 1 })).catch(() => {});
        await pool.all('fanClear').catch(() => {});
        await pool.all('roomClear').catch(() => {});
        await pool.all('pepClear').catch(() => {});
      }
    };
    if (opts.scenarios.includes('idle')) await step('idle sessions', async () => void (res.idle = await runIdle(ctx)));
    if (opts.scenarios.includes('chat')) {
      res.chat = [];
      for (const p of opts.chatPairs) await step(`chat, ${p} pairs`, async () => void res.chat?.push(await runChat(ctx, p)));
    }
    if (opts.scenarios.includes('login')) await step('login rate', async () => void (res.login = await runLogin(ctx)));
    if (opts.scenarios.includes('presence')) await step('presence fan-out', async () => void (res.presence = await runPresence(ctx)));
    // Before the password scenario, which leaves some of the room's users with other passwords.
    if (opts.scenarios.includes('room')) await step(`MUC room, ${opts.roomOccupants} occupants`, async () => void (res.room = await runRoom(ctx)));
    if (opts.scenarios.includes('pep')) await step(`PEP, ${opts.pepUsers} users × ${opts.pepContacts} contacts`, async () => void (res.pep = await runPep(ctx)));
    if (opts.scenarios.includes('register')) await step('in-band registration', async () => void (res.register = await runRegister(ctx)));
    // Last: it leaves its users with random passwords.
    if (opts.scenarios.includes('password')) await step('in-band password change', async () => void (res.password = await runPassword(ctx)));
  } catch (e) {
    res.failures.push((e as Error).message);
    log(`  FAILED ${(e as Error).message}`);
  } finally {
    const alive = server.pid !== 0;
    if (res.failures.length) log(`  server log tail:\n${server.logTail(15)}`);
    await server.stop();
    if (alive) log(`  stopped`);
  }
  return res;
}

async function main(): Promise<number> {
  const parsed = parseOptions(process.argv.slice(2), process.env);
  if (parsed === 'help') {
    console.log(USAGE);
    return 0;
  }
  const opts = parsed;
  const startedAt = new Date();
  const results: Results = { startedAt: startedAt.toISOString(), finishedAt: '', machine: machine(), options: opts, servers: {} };
  log(`bench ${opts.quick ? '(quick) ' : ''}servers ${opts.servers.join(', ')}; scenarios ${opts.scenarios.join(', ')}`);

  const runDir = mkdtempSync(join(opts.tmpDir, 'jxbench-'));
  const { cert, key } = makeCertificate(runDir, opts.domain);
  const counts = accountCounts(opts);
  const names = accountNames(counts.idle, counts.fan, counts.pep);

  const servers: BenchServer[] = [];
  for (const name of opts.servers) {
    const dir = join(runDir, name);
    mkdirSync(dir, { recursive: true });
    const registration = opts.scenarios.includes('register') || opts.scenarios.includes('password');
    const setup: ServerSetup = { dir, domain: opts.domain, cert, key, iterations: opts.iterations, repo: REPO, streamManagement: opts.streamManagement, registration, muc: opts.scenarios.includes('room'), pep: opts.scenarios.includes('pep') };
    const check = () => (name === 'prosody' ? ProsodyServer.available() : name === 'ejabberd' ? EjabberdServer.available() : undefined);
    let missing = check();
    if (missing && opts.install) {
      const pkgs = name === 'prosody' ? ['prosody', 'lua-dbi-sqlite3'] : ['ejabberd', 'erlang-p1-sqlite3'];
      log(`installing ${pkgs.join(' ')} with apt-get`);
      try {
        execFileSync('apt-get', ['install', '-y', ...pkgs], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      } catch (e) {
        log(`apt-get failed: ${(e as Error).message}`);
      }
      missing = check();
    }
    if (missing) {
      log(`SKIPPING ${name}: ${missing}; or run the bench with --install (as root)`);
      results.servers[name] = { name, version: 'not installed', skipped: missing, failures: [] };
      continue;
    }
    servers.push(name === 'jabberx' ? new JabberXServer(setup) : name === 'prosody' ? new ProsodyServer(setup) : new EjabberdServer(setup));
  }

  let creds: Credential[] = names.map((user) => ({ user, password: passwordOf(user), salt: '', iterations: opts.iterations, storedKey: Buffer.alloc(0), serverKey: Buffer.alloc(0) }));
  if (servers.some((s) => s.name !== 'jabberx')) {
    const t0 = performance.now();
    creds = await computeCredentials(names, opts.iterations);
    log(`SCRAM credentials for ${names.length} accounts (${opts.iterations} iterations) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  const pool = new WorkerPool(opts.workers);
  pool.start();
  let current: BenchServer | undefined;
  const abort = () => {
    log('interrupted: stopping');
    void (async () => {
      await current?.stop();
      await pool.stop();
      process.exit(130);
    })();
  };
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    for (const server of servers) {
      current = server;
      try {
        results.servers[server.name] = await benchServer(server, creds, opts, pool);
      } catch (e) {
        log(`${server.name} FAILED: ${(e as Error).message}\n${server.logTail(15)}`);
        results.servers[server.name] = { name: server.name, version: server.version, failures: [(e as Error).message] };
        await server.stop();
      }
      current = undefined;
    }
  } finally {
    await pool.stop();
  }

  results.finishedAt = new Date().toISOString();
  const outDir = join(REPO, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}${opts.quick ? '-quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\n${table(results)}\n`);
  for (const r of Object.values(results.servers)) {
    if (r.skipped) console.log(`${r.name}: skipped (${r.skipped})`);
    for (const f of r.failures) console.log(`${r.name}: FAILED ${f}`);
  }
  log(`results: ${file} (${((Date.now() - startedAt.getTime()) / 60000).toFixed(1)} min)`);
  if (opts.keep) log(`server folders kept in ${runDir}`);
  else rmSync(runDir, { recursive: true, force: true });
  return Object.values(results.servers).some((r) => r.failures.length) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
