// `npm install -g` (issue 13): the packed package, installed into a temporary prefix as an operator
// installs it, puts a working `jabberx` on the PATH (it runs the JavaScript built at pack time,
// since Node strips no types under node_modules), with its man page, and the shipped systemd unit
// passes systemd's own check against that install.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { nodeBinary, REPO_ROOT } from '../harness/server.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? REPO_ROOT, env: opts.env ?? process.env, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm install -g', { timeout: 300_000 }, () => {
  let root: string;
  let prefix: string;
  let env: NodeJS.ProcessEnv;
  const jabberx = (...args: string[]) => run(join(prefix, 'bin', 'jabberx'), args, { cwd: root, env });

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'jabberx-install-'));
    prefix = join(root, 'prefix');
    const pack = run('npm', ['pack', '--pack-destination', root, '--no-audit', '--no-fund']);
    assert.equal(pack.code, 0, `npm pack: ${pack.stdout}${pack.stderr}`);
    const tarball = readdirSync(root).find((f) => /^jabberx-.*\.tgz$/.test(f));
    assert.ok(tarball, pack.stdout);
    // Dependencies come from npm's cache when it has them (npm ci filled it), else the registry.
    const install = run('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(root, tarball)]);
    assert.equal(install.code, 0, `npm install -g: ${install.stdout}${install.stderr}`);
    // `#!/usr/bin/env node` finds Node 24 first, as on a server where it is installed.
    env = { ...process.env, PATH: `${join(prefix, 'bin')}:${dirname(nodeBinary())}:${process.env['PATH'] ?? ''}` };
    delete env['NODE_EXTRA_CA_CERTS'];
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('installs the built package: no TypeScript sources, the man page linked', () => {
    const pkg = join(prefix, 'lib', 'node_modules', 'jabberx');
    assert.ok(existsSync(join(pkg, 'dist', 'src', 'main.js')));
    assert.equal(existsSync(join(pkg, 'src')), false, 'sources stay out of the package');
    assert.ok(existsSync(join(pkg, 'contrib', 'jabberx.service')));
    assert.ok(existsSync(join(prefix, 'share', 'man', 'man1', 'jabberx.1')), 'man jabberx works');
  });

  it('jabberx --version and help work from the PATH', () => {
    const version = jabberx('--version');
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^jabberx \d+\.\d+\.\d+\n$/);
    const help = jabberx('help');
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: jabberx <command>/m);
    const start = jabberx('help', 'start');
    assert.equal(start.code, 0);
    assert.match(start.stdout, /^Usage: jabberx start /);
  });

  it('serves: check-config, adduser, start and stop on SIGTERM', async () => {
    const dir = join(root, 'server');
    mkdirSync(dir);
    const config = join(dir, 'jabberx.yml');
    writeFileSync(config, stringify({ data_dir: './data', listeners: [{ type: 'c2s_starttls', port: 0, address: '127.0.0.1' }], auth: { scram_iterations: 4096 } }));
    const check = jabberx('check-config', '--config', config);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    const add = jabberx('adduser', 'alice@localhost', '--password', 'pw', '--config', config);
    assert.equal(add.code, 0, add.stderr);
    const child = spawn(join(prefix, 'bin', 'jabberx'), ['start', '--config', config, '--allow-root'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const end = Date.now() + 30_000;
    while (!out.includes('JabberX started') && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    assert.match(out, /JabberX started/);
    const users = jabberx('list-users', '--config', config);
    assert.equal(users.stdout, 'alice@localhost\n', 'through the running server');
    child.kill('SIGTERM');
    assert.equal(await exit, 0, out);
  });

  it('the systemd unit passes systemd-analyze verify against this install', { skip: existsSync('/usr/bin/systemd-analyze') ? false : 'no systemd-analyze' }, () => {
    const unit = readFileSync(join(REPO_ROOT, 'contrib', 'jabberx.service'), 'utf8');
    assert.match(unit, /^User=jabberx$/m);
    assert.match(unit, /^StateDirectory=jabberx$/m);
    assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    const execStart = /^ExecStart=\/usr\/local\/bin\/jabberx (.*)$/m.exec(unit);
    assert.ok(execStart, 'ExecStart runs the jabberx that npm install -g puts in /usr/local/bin');
    // The same command line, as the installed jabberx parses it.
    assert.equal(jabberx(...(execStart[1] ?? '').split(' '), '--help').code, 0);
    const copy = join(root, 'jabberx.service');
    writeFileSync(copy, unit.replace('/usr/local/bin/jabberx', join(prefix, 'bin', 'jabberx')));
    const verify = run('systemd-analyze', ['verify', '--man=no', copy]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });
});
