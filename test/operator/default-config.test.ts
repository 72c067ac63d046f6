// Without --config (issue 13): the default locations are used, and a command that would open the
// store refuses instead of silently creating an empty ./data and ./jabberx.key.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jabberx } from '../harness/cli.ts';

const SYSTEM_CONFIG = '/etc/jabberx/jabberx.yml';

describe('commands without --config', { skip: existsSync(SYSTEM_CONFIG) ? `${SYSTEM_CONFIG} exists on this machine` : false }, () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'jabberx-noconfig-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  function folder(name: string): string {
    const dir = join(root, name);
    mkdirSync(dir);
    return dir;
  }

  it('refuse account and block commands in a folder with no configuration and no data, creating nothing', async () => {
    const cwd = folder('empty');
    for (const args of [['adduser', 'alice@localhost', '--password', 'pw'], ['list-users'], ['passwd', 'alice@localhost', '--password', 'x'], ['deluser', 'alice@localhost'], ['block', '192.0.2.1'], ['blocks']]) {
      const r = await jabberx(args, { cwd });
      assert.equal(r.code, 78, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^jabberx: no configuration file \(looked for \/etc\/jabberx\/jabberx\.yml and \.\/jabberx\.yml\) and no server data in .*: give --config FILE/);
      assert.doesNotMatch(r.stdout, /\S/);
      assert.deepEqual(readdirSync(cwd), [], `${args.join(' ')} created files`);
    }
  });

  it('check-config validates the embedded defaults and creates nothing', async () => {
    const cwd = folder('check');
    const r = await jabberx(['check-config'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /embedded defaults: OK \(hosts: localhost\)/);
    assert.deepEqual(readdirSync(cwd), []);
  });

  it('use ./jabberx.yml when it exists', async () => {
    const cwd = folder('local');
    writeFileSync(join(cwd, 'jabberx.yml'), 'data_dir: ./state\nlog: { level: silent }\nauth: { scram_iterations: 4096 }\n');
    const add = await jabberx(['adduser', 'alice@localhost', '--password', 'pw'], { cwd });
    assert.equal(add.code, 0, add.stderr);
    assert.ok(existsSync(join(cwd, 'state', 'jabberx.sqlite')));
    assert.equal(existsSync(join(cwd, 'data')), false);
    const list = await jabberx(['list-users'], { cwd });
    assert.equal(list.stdout, 'alice@localhost\n');
    const check = await jabberx(['check-config'], { cwd });
    assert.match(check.stdout, new RegExp(`${join(cwd, 'jabberx.yml').replace(/[.]/g, '\\.')}: OK`));
  });

  it('act on the embedded defaults\' store once `jabberx start` has made it (the README\'s first steps)', async () => {
    const cwd = folder('fresh-clone');
    // The same paths as the embedded defaults, made by a first run (as `npm start` makes them).
    writeFileSync(join(cwd, 'other.yml'), 'log: { level: silent }\nauth: { scram_iterations: 4096 }\n');
    const first = await jabberx(['adduser', 'alice@localhost', '--password', 'pw', '--config', 'other.yml'], { cwd });
    assert.equal(first.code, 0, first.stderr);
    assert.ok(existsSync(join(cwd, 'data', 'jabberx.sqlite')) && existsSync(join(cwd, 'jabberx.key')));
    const add = await jabberx(['adduser', 'bob@localhost', '--password', 'pw'], { cwd });
    assert.equal(add.code, 0, add.stderr);
    const list = await jabberx(['list-users'], { cwd });
    assert.deepEqual(list.stdout.split('\n').filter(Boolean).sort(), ['alice@localhost', 'bob@localhost']);
  });
});
