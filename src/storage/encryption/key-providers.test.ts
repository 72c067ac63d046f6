// Tests for the master key providers: file (kept out of the data directory, mode 0600), env,
// and command (success, failure with exit code, timeout), and that no message shows a key.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyError, generateKey, loadMasterKey, parseMasterKey, writeNewKeyFile } from './key-providers.ts';

function keyErrorMatching(re: RegExp, secret?: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof KeyError, `expected KeyError, got ${String(err)}`);
    assert.match(err.message, re);
    if (secret !== undefined) assert.equal(err.message.includes(secret), false, 'the message shows the key');
    return true;
  };
}

describe('key formats', () => {
  it('generateKey gives 32 random bytes as base64, which parse back', () => {
    const a = generateKey();
    assert.match(a, /^[A-Za-z0-9+/]{43}=$/);
    assert.notEqual(a, generateKey());
    assert.equal(parseMasterKey(a, 'x').length, 32);
  });

  it('accepts hex, base64 and base64url, with surrounding whitespace', () => {
    const raw = randomBytes(32);
    for (const text of [raw.toString('hex'), raw.toString('hex').toUpperCase(), raw.toString('base64'),
      raw.toString('base64').replace(/=$/, ''), raw.toString('base64url'), `  ${raw.toString('base64')}\n`]) {
      assert.deepEqual(parseMasterKey(text, 'x'), raw, text);
    }
    assert.deepEqual(parseMasterKey(Buffer.from(`${raw.toString('hex')}\r\n`), 'x'), raw);
  });

  it('refuses anything else without showing it', () => {
    const raw = randomBytes(32);
    for (const bad of ['', 'short', raw.toString('hex').slice(2), `${raw.toString('base64')}AA`, randomBytes(16).toString('base64'), 'correct horse battery staple and more words ok']) {
      assert.throws(() => parseMasterKey(bad, 'the key source'), keyErrorMatching(/the key source does not hold a valid master key/, bad || undefined));
    }
    // raw binary is refused: 32 bytes of text would pass for it
    assert.throws(() => parseMasterKey(raw, 'x'), KeyError);
  });
});

describe('loadMasterKey', () => {
  let dir: string;
  let dataDir: string;
  let keyDir: string;
  const key = randomBytes(32);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jabberx-keys-'));
    dataDir = join(dir, 'data');
    keyDir = join(dir, 'keys');
    mkdirSync(dataDir);
    mkdirSync(keyDir, { mode: 0o700 });
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('file', () => {
    it('reads a base64 or hex key file with mode 0600', async () => {
      const file = join(keyDir, 'master.key');
      writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600 });
      assert.deepEqual(await loadMasterKey({ provider: 'file', file }, { dataDir }), key);
      writeFileSync(file, key.toString('hex'), { mode: 0o600 });
      assert.deepEqual(await loadMasterKey({ provider: 'file', file }, { dataDir }), key);
    });

    it('refuses a key file inside the data directory, also through a symlink', async () => {
      const inside = join(dataDir, 'sub', 'master.key');
      mkdirSync(join(dataDir, 'sub'));
      writeFileSync(inside, key.toString('base64'), { mode: 0o600 });
      await assert.rejects(loadMasterKey({ provider: 'file', file: inside }, { dataDir }), keyErrorMatching(/inside the data directory/));
      const link = join(keyDir, 'link.key');
      symlinkSync(inside, link);
      await assert.rejects(loadMasterKey({ provider: 'file', file: link }, { dataDir }), keyErrorMatching(/inside the data directory/));
      // the data directory itself reached through a symlink
      const dataLink = join(dir, 'data-link');
      symlinkSync(dataDir, dataLink);
      await assert.rejects(loadMasterKey({ provider: 'file', file: join(keyDir, 'x.key') }, { dataDir: join(keyDir) }), /inside the data directory/);
      await assert.rejects(loadMasterKey({ provider: 'file', file: inside }, { dataDir: dataLink }), /inside the data directory/);
      // a data directory that doesn't exist yet
      await assert.rejects(loadMasterKey({ provider: 'file', file: join(dir, 'new', 'k') }, { dataDir: join(dir, 'new') }), /inside the data directory/);
    });

    it('refuses a key file readable by group or others', async () => {
      const file = join(keyDir, 'master.key');
      writeFileSync(file, key.toString('base64'));
      chmodSync(file, 0o644);
      await assert.rejects(loadMasterKey({ provider: 'file', file }, { dataDir }), keyErrorMatching(/mode 644.*chmod 600/, key.toString('base64')));
      chmodSync(file, 0o640);
      await assert.rejects(loadMasterKey({ provider: 'file', file }, { dataDir }), /mode 640/);
      chmodSync(file, 0o400);
      assert.deepEqual(await loadMasterKey({ provider: 'file', file }, { dataDir }), key);
    });

    it('explains a missing file, a directory and a malformed key', async () => {
      await assert.rejects(loadMasterKey({ provider: 'file', file: join(keyDir, 'nope') }, { dataDir }), keyErrorMatching(/does not exist/));
      await assert.rejects(loadMasterKey({ provider: 'file', file: keyDir }, { dataDir }), /not a regular file/);
      const file = join(keyDir, 'bad.key');
      writeFileSync(file, 'hunter2-hunter2', { mode: 0o600 });
      await assert.rejects(loadMasterKey({ provider: 'file', file }, { dataDir }), keyErrorMatching(/does not hold a valid master key/, 'hunter2'));
      await assert.rejects(loadMasterKey({ provider: 'file' }, { dataDir }), /needs a key file path/);
    });
  });

  describe('env', () => {
    it('reads the named variable', async () => {
      assert.deepEqual(await loadMasterKey({ provider: 'env', env: 'JX_KEY' }, { dataDir, env: { JX_KEY: key.toString('base64') } }), key);
    });

    it('explains a missing, empty or malformed variable', async () => {
      await assert.rejects(loadMasterKey({ provider: 'env', env: 'JX_KEY' }, { dataDir, env: {} }), keyErrorMatching(/JX_KEY .*is not set/));
      await assert.rejects(loadMasterKey({ provider: 'env', env: 'JX_KEY' }, { dataDir, env: { JX_KEY: ' ' } }), /is not set/);
      await assert.rejects(loadMasterKey({ provider: 'env', env: 'JX_KEY' }, { dataDir, env: { JX_KEY: 'secret-passphrase' } }),
        keyErrorMatching(/environment variable JX_KEY does not hold a valid master key/, 'secret-passphrase'));
      await assert.rejects(loadMasterKey({ provider: 'env' }, { dataDir }), /needs the name of an environment variable/);
    });
  });

  describe('command', () => {
    it('takes the key from standard output', async () => {
      const env = { PATH: process.env['PATH'], KEYTEXT: key.toString('hex') };
      assert.deepEqual(await loadMasterKey({ provider: 'command', command: 'echo "$KEYTEXT"; echo diagnostics >&2' }, { dataDir, env }), key);
    });

    it('reports the exit code and the first line of error output, never the output', async () => {
      const env = { PATH: process.env['PATH'], KEYTEXT: key.toString('hex') };
      await assert.rejects(
        loadMasterKey({ provider: 'command', command: 'echo "$KEYTEXT"; echo "vault: permission denied" >&2; echo more >&2; exit 3' }, { dataDir, env }),
        keyErrorMatching(/exit code 3: vault: permission denied$/, key.toString('hex')),
      );
      await assert.rejects(loadMasterKey({ provider: 'command', command: 'echo not-a-key' }, { dataDir }),
        keyErrorMatching(/output of the master key command does not hold a valid master key/, 'not-a-key'));
      await assert.rejects(loadMasterKey({ provider: 'command', command: 'kill -9 $$' }, { dataDir }), /killed by signal SIGKILL/);
      await assert.rejects(loadMasterKey({ provider: 'command', command: 'exit 127' }, { dataDir }), /exit code 127$/);
      await assert.rejects(loadMasterKey({ provider: 'command', command: 'yes' }, { dataDir }), /printed more than/);
    });

    it('stops a command that runs too long, with what it started', async () => {
      const pidFile = join(dir, 'pid');
      const started = Date.now();
      await assert.rejects(
        loadMasterKey({ provider: 'command', command: `sleep 30 & echo $! > '${pidFile}'; wait`, timeoutMs: 300 }, { dataDir }),
        keyErrorMatching(/did not finish within 0.3 s/),
      );
      assert.ok(Date.now() - started < 5000);
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      // gone, or at most a zombie waiting for a reaper
      const stat = `/proc/${pid}/stat`;
      for (let i = 0; i < 50 && existsSync(stat) && !/\) Z /.test(readFileSync(stat, 'utf8')); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(!existsSync(stat) || /\) Z /.test(readFileSync(stat, 'utf8')), 'the background sleep was not stopped');
      await assert.rejects(loadMasterKey({ provider: 'command', command: 'true', timeoutMs: 0 }, { dataDir }), /timeout/);
    });
  });

  it('refuses an unknown provider', async () => {
    await assert.rejects(loadMasterKey({ provider: 'kms' } as never, { dataDir }), /unknown master key provider 'kms'/);
  });
});

describe('writeNewKeyFile', () => {
  it('writes a new 0600 key file, never over an existing one nor inside the data directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jabberx-keygen-'));
    try {
      const dataDir = join(dir, 'data');
      const file = join(dir, 'master.key');
      const prev = process.umask(0o022);
      try {
        writeNewKeyFile(file, { dataDir });
      } finally {
        process.umask(prev);
      }
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const first = readFileSync(file, 'utf8');
      assert.equal((await loadMasterKey({ provider: 'file', file }, { dataDir })).length, 32);
      assert.throws(() => writeNewKeyFile(file, { dataDir }), /already exists/);
      assert.equal(readFileSync(file, 'utf8'), first);
      assert.throws(() => writeNewKeyFile(join(dataDir, 'k'), { dataDir }), /inside the data directory/);
      assert.equal(existsSync(join(dataDir, 'k')), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
