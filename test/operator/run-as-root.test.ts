// `jabberx start` as root (issue 13): refused with one line and exit 77 before anything is
// written, unless the operator insists (--allow-root, security.allow_root); as an ordinary user it
// just starts. The test process runs as root in CI, which is what it needs to check this.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { jabberx } from '../harness/cli.ts';
import { nodeBinary, REPO_ROOT } from '../harness/server.ts';

const NOBODY = 65534;

/** Runs `jabberx start` until it logs that it started, then stops it with SIGTERM; its exit code and output. */
function startAndStop(args: string[], wrap: string[] = []): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const argv = [...wrap, nodeBinary(), join(REPO_ROOT, 'src', 'main.ts'), 'start', ...args];
    const env = { ...process.env };
    delete env['NODE_EXTRA_CA_CERTS']; // a path relative to the repository; the server needs no CA
    const child = spawn(argv[0] ?? '', argv.slice(1), { cwd: tmpdir(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stopping = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const read = (d: string) => {
      output += d;
      if (!stopping && output.includes('JabberX started')) {
        stopping = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.setEncoding('utf8').on('data', read);
    child.stderr.setEncoding('utf8').on('data', read);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('jabberx start as root', { skip: process.getuid?.() !== 0 ? 'needs to run as root' : false }, () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'jabberx-root-'));
    chmodSync(root, 0o755);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  function configIn(name: string, extra: Record<string, unknown> = {}): { dir: string; path: string } {
    const dir = join(root, name);
    mkdirSync(dir);
    const path = join(dir, 'jabberx.yml');
    writeFileSync(path, stringify({
      data_dir: './data',
      log: { file: '-' },
      listeners: [{ type: 'c2s_starttls', port: 0, address: '127.0.0.1' }],
      auth: { scram_iterations: 4096 },
      ...extra,
    }));
    return { dir, path };
  }

  it('is refused with one line and exit 77, writing nothing', async () => {
    const { dir, path } = configIn('refused');
    const r = await jabberx(['start', '--config', path]);
    assert.equal(r.code, 77, r.stdout + r.stderr);
    assert.equal(r.stderr, 'jabberx: refusing to run the server as root: run it as its own user (contrib/jabberx.service uses User=jabberx), '
      + 'e.g. sudo -u jabberx jabberx start; to run it as root all the same, give --allow-root or set security.allow_root: true\n');
    assert.equal(r.stdout, '');
    assert.deepEqual(readdirSync(dir), ['jabberx.yml'], 'no data directory, no key file');
  });

  it('runs with --allow-root', async () => {
    const { path } = configIn('flag');
    const r = await startAndStop(['--config', path, '--allow-root']);
    assert.equal(r.code, 0, `exit ${String(r.code)}: ${r.output}`);
    assert.match(r.output, /JabberX started/);
  });

  it('runs with security.allow_root: true', async () => {
    const { path } = configIn('setting', { security: { allow_root: true } });
    const r = await startAndStop(['--config', path]);
    assert.equal(r.code, 0, `exit ${String(r.code)}: ${r.output}`);
  });

  it('runs as an ordinary user without either', { skip: existsSync('/usr/bin/setpriv') ? false : 'no setpriv (util-linux)' }, async () => {
    const { dir, path } = configIn('user');
    chownSync(dir, NOBODY, NOBODY);
    const r = await startAndStop(['--config', path], ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups']);
    assert.equal(r.code, 0, `exit ${String(r.code)}: ${r.output}`);
    assert.match(r.output, /JabberX started/);
  });
});
