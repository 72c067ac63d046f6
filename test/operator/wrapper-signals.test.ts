// The `jabberx` command (bin/jabberx.js) and signals (issue 13): killing it stops the server and
// releases its ports, SIGHUP reaches the server, and the exit code is the server's. On Node 24 the
// wrapper is the server process; on an older Node (a distribution's, through `npm link`) it runs
// the pinned Node 24 as a child and relays, which is the path that used to orphan the server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { nodeBinary, REPO_ROOT } from '../harness/server.ts';
import { until } from '../harness/eventually.ts';

const WRAPPER = join(REPO_ROOT, 'bin', 'jabberx.js');

/** A Node.js older than 24 on this machine (Debian's), if any: the wrapper then relays to a child. */
function olderNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node', '/usr/bin/nodejs']) {
    const r = spawnSync(candidate, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' });
    if (r.status === 0 && Number(r.stdout.trim()) < 24) return candidate;
  }
  return undefined;
}

interface Running {
  wrapper: ChildProcess;
  /** The PID of the process that serves (from data_dir/server.lock). */
  serverPid: number;
  port: number;
  output(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Gone: no such process, or a zombie (an orphan nobody has reaped yet is no longer running). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ''));
  } catch {
    return true;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

describe('bin/jabberx.js and signals', () => {
  let root: string;
  let n = 0;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'jabberx-wrapper-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  async function startVia(node: string): Promise<Running> {
    const dir = join(root, `s${++n}`);
    const dataDir = join(dir, 'data');
    const config = join(root, `s${n}.yml`);
    writeFileSync(config, stringify({
      data_dir: dataDir,
      storage: { key_file: join(root, `s${n}.key`) },
      listeners: [{ type: 'c2s_starttls', port: 0, address: '127.0.0.1' }],
    }));
    const env = { ...process.env };
    delete env['NODE_EXTRA_CA_CERTS'];
    const wrapper = spawn(node, [WRAPPER, 'start', '--config', config, '--allow-root'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    wrapper.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    wrapper.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => wrapper.once('exit', (code, signal) => r({ code, signal })));
    await until('JabberX started', () => out.includes('JabberX started'));
    const started = JSON.parse(out.split('\n').find((l) => l.includes('JabberX started')) ?? '{}') as { ports: { c2s_starttls: number } };
    const serverPid = Number(readFileSync(join(dataDir, 'server.lock'), 'utf8').trim());
    return { wrapper, serverPid, port: started.ports.c2s_starttls, output: () => out, exit };
  }

  async function stopsCleanly(s: Running, expectRelay: boolean): Promise<void> {
    assert.equal(s.serverPid !== s.wrapper.pid, expectRelay, expectRelay ? 'the server is a child of the wrapper' : 'the wrapper is the server');
    s.wrapper.kill('SIGHUP');
    await until('the SIGHUP reload', () => s.output().includes('certificates re-read'));
    assert.equal(gone(s.serverPid), false, 'SIGHUP does not stop the server');
    assert.equal(await portFree(s.port), false);
    s.wrapper.kill('SIGTERM');
    const { code, signal } = await s.exit;
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, s.output());
    assert.match(s.output(), /JabberX stopped/);
    await until('the server process to be gone', () => gone(s.serverPid), 5000);
    assert.equal(await portFree(s.port), true, 'the port is released');
  }

  it('on Node 24 the wrapper is the server: SIGHUP reloads, SIGTERM stops it and frees its port', async () => {
    await stopsCleanly(await startVia(nodeBinary()), false);
  });

  const old = olderNode();
  const skip = old ? false : 'no Node.js older than 24 on this machine';

  it(`on an older Node (${old ?? 'none'}) the wrapper relays SIGHUP and SIGTERM to the server and exits with its code`, { skip }, async () => {
    await stopsCleanly(await startVia(old ?? ''), true);
  });

  it('on an older Node, SIGINT twice (Ctrl-C reaches both processes, and the wrapper relays it) still stops in order', { skip }, async () => {
    const s = await startVia(old ?? '');
    s.wrapper.kill('SIGINT');
    process.kill(s.serverPid, 'SIGINT');
    const { code } = await s.exit;
    assert.equal(code, 0, s.output());
    assert.match(s.output(), /JabberX stopped/);
    await until('the server process to be gone', () => gone(s.serverPid), 5000);
    assert.equal(await portFree(s.port), true);
  });

  it('on an older Node, a wrapper killed outright (SIGKILL, no relay) takes the server with it', { skip }, async () => {
    const s = await startVia(old ?? '');
    s.wrapper.kill('SIGKILL');
    await until('the orphaned server to stop by itself', () => gone(s.serverPid), 10_000);
    assert.equal(await portFree(s.port), true, 'the port is released');
  });
});
