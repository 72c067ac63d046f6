// log.format (issue 13): on a terminal the log is human-readable (pino-pretty), elsewhere one JSON
// object per line; either can be forced. The terminal is a real pseudo-terminal from util-linux's
// `script`, and the lines come from a real command (adduser's first start makes a key and says so).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeBinary, REPO_ROOT } from '../harness/server.ts';

const SCRIPT = '/usr/bin/script';
// ANSI colour sequences (ESC [ … m).
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const PRETTY = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] WARN: first start: made a new master key file/m;
const JSON_LINE = /^\{"level":"warn","time":"[^"]+","keyFile":"[^"]+","msg":"first start: made a new master key file/m;

/** Runs `jabberx adduser` in a fresh folder, on a pseudo-terminal or with its output piped; all it printed. */
function adduser(root: string, name: string, format: string | undefined, terminal: boolean): Promise<string> {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'jabberx.yml'), `data_dir: ./data\nauth: { scram_iterations: 4096 }\n${format ? `log: { format: ${format} }\n` : ''}`);
  const command = [nodeBinary(), join(REPO_ROOT, 'src', 'main.ts'), 'adduser', 'alice@localhost', '--password', 'pw', '--config', join(dir, 'jabberx.yml')];
  const [file, args] = terminal ? [SCRIPT, ['-qec', command.map((a) => `'${a}'`).join(' '), '/dev/null']] as const : [command[0] ?? '', command.slice(1)] as const;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm-256color' } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out.replace(/\r\n/g, '\n')) : reject(new Error(`exit ${String(code)}: ${out}`))));
  });
}

describe('log.format', { skip: existsSync(SCRIPT) ? false : 'no script (util-linux) for a pseudo-terminal' }, () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'jabberx-logformat-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('auto on a terminal: human-readable, coloured lines', async () => {
    const out = await adduser(root, 'tty-auto', undefined, true);
    assert.match(out, ANSI, 'coloured');
    assert.match(out.replace(ANSI, ''), PRETTY);
    assert.match(out.replace(ANSI, ''), /^ {4}keyFile: ".*jabberx\.key"$/m, 'fields on their own lines');
    assert.doesNotMatch(out, /"level":/);
  });

  it('auto into a pipe: JSON lines', async () => {
    assert.match(await adduser(root, 'pipe-auto', undefined, false), JSON_LINE);
  });

  it('json on a terminal: JSON lines all the same', async () => {
    const out = await adduser(root, 'tty-json', 'json', true);
    assert.match(out, JSON_LINE);
    assert.doesNotMatch(out, ANSI);
  });

  it('pretty into a pipe: human-readable, without colours', async () => {
    const out = await adduser(root, 'pipe-pretty', 'pretty', false);
    assert.match(out, PRETTY);
    assert.doesNotMatch(out, ANSI);
  });
});
