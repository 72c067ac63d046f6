// Master key providers for encryption at rest: a key file kept away from the data, an
// environment variable, or an operator's command (a KMS or vault CLI) that prints the key.
// The key never lives in the data directory or the database; no message ever contains it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { KeyError } from './key-error.ts';
import { MASTER_KEY_BYTES } from './keyring.ts';

export { KeyError } from './key-error.ts';

export interface KeyProviderSpec {
  provider: 'file' | 'env' | 'command';
  /** provider 'file': path of a file holding the key as 64 hex digits or base64. */
  file?: string;
  /** provider 'env': name of the environment variable holding the key. */
  env?: string;
  /** provider 'command': shell command whose standard output is the key. */
  command?: string;
  /** provider 'command': how long the command may run (default 30 s). */
  timeoutMs?: number;
}

export interface KeyProviderOptions {
  /** The data directory: a key file inside it is refused. */
  dataDir: string;
  /** Environment to read (provider 'env') and to run the command with; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** A key is under 100 bytes; anything much larger is not a key, so reading stops there. */
const MAX_OUTPUT = 64 * 1024;
const KEY_FORMAT = `expected a ${MASTER_KEY_BYTES * 8}-bit key as 64 hex digits or 44 base64 characters; create one with \`jabberx keygen\``;

/** A new random master key, base64 (for `jabberx keygen`). */
export function generateKey(): string {
  const raw = randomBytes(MASTER_KEY_BYTES);
  const text = raw.toString('base64');
  raw.fill(0);
  return text;
}

/**
 * Parses a key given as hex or base64/base64url text, surrounding whitespace ignored. Text
 * only: raw binary is refused, because 32 bytes of text (a typed password) would pass for it.
 */
export function parseMasterKey(input: Uint8Array | string, source: string): Buffer {
  const text = (typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1')).trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(text)) key = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/]{43}=?$/.test(text) || /^[A-Za-z0-9_-]{43}$/.test(text)) key = Buffer.from(text, 'base64');
  if (!key || key.length !== MASTER_KEY_BYTES) throw new KeyError(`${source} does not hold a valid master key: ${KEY_FORMAT}`);
  return key;
}

/** The path resolved through symlinks as far as it exists (the data directory may not exist yet). */
function realish(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : resolve(realish(parent), relative(parent, abs));
  }
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Refuses a key file path inside the data directory, by its name or where it really lives. */
function refuseInsideDataDir(path: string, dataDir: string): void {
  const abs = resolve(path);
  if (isInside(abs, resolve(dataDir)) || isInside(realish(abs), realish(dataDir))) {
    throw new KeyError(`the master key file ${abs} is inside the data directory ${resolve(dataDir)}: `
      + 'keep it apart from the data it protects (another mount or device, not in backups of the data), and point the key file setting there');
  }
}

function fromFile(path: string, dataDir: string): Buffer {
  const abs = resolve(path);
  refuseInsideDataDir(abs, dataDir);
  let st;
  try {
    st = statSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new KeyError(`the master key file ${abs} does not exist: restore it from where you keep it safe `
        + '(a new key cannot open existing data), or for a new installation create one with `jabberx keygen`');
    }
    throw new KeyError(`the master key file ${abs} cannot be read (${code ?? 'error'})`);
  }
  if (!st.isFile()) throw new KeyError(`the master key file ${abs} is not a regular file`);
  // POSIX permission bits only mean something off Windows.
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(3, '0');
    throw new KeyError(`the master key file ${abs} is accessible to group or others (mode ${mode}); restrict it with: chmod 600 ${abs}`);
  }
  if (st.size > MAX_OUTPUT) throw new KeyError(`the master key file ${abs} does not hold a valid master key: ${KEY_FORMAT}`);
  let raw: Buffer;
  try {
    raw = readFileSync(abs);
  } catch (err) {
    throw new KeyError(`the master key file ${abs} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return parseMasterKey(raw, `the master key file ${abs}`);
  } finally {
    raw.fill(0);
  }
}

function fromEnv(name: string, env: NodeJS.ProcessEnv): Buffer {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new KeyError(`the environment variable ${name} that should hold the master key is not set`);
  }
  return parseMasterKey(value, `the environment variable ${name}`);
}

/** First line of the command's error output, shortened: enough to diagnose, never stdout. */
function stderrHint(stderr: Buffer[]): string {
  const line = Buffer.concat(stderr).toString('utf8').trim().split('\n')[0]?.trim() ?? '';
  if (line === '') return '';
  return `: ${line.length > 200 ? `${line.slice(0, 200)}...` : line}`;
}

function fromCommand(command: string, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    // detached: the shell and whatever it starts form their own process group, so a timeout
    // can stop all of them, not only the shell.
    const child = spawn(command, { shell: true, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let failure: KeyError | undefined;
    const kill = (why: KeyError): void => {
      failure ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      kill(new KeyError(`the master key command did not finish within ${Math.round(timeoutMs / 100) / 10} s and was stopped`));
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      outLen += chunk.length;
      if (outLen > MAX_OUTPUT) kill(new KeyError(`the master key command printed more than ${MAX_OUTPUT} bytes; ${KEY_FORMAT}`));
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (errLen < 4096) err.push(chunk);
      errLen += chunk.length;
    });
    const wipe = (): void => {
      for (const b of out) b.fill(0);
    };
    child.on('error', (e) => {
      clearTimeout(timer);
      wipe();
      reject(new KeyError(`the master key command could not be started (${(e as NodeJS.ErrnoException).code ?? e.message})`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      try {
        if (failure) throw failure;
        if (signal !== null) throw new KeyError(`the master key command was killed by signal ${signal}${stderrHint(err)}`);
        if (code !== 0) throw new KeyError(`the master key command failed with exit code ${code}${stderrHint(err)}`);
        resolvePromise(parseMasterKey(Buffer.concat(out), 'the output of the master key command'));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      } finally {
        wipe();
      }
    });
  });
}

function required(value: string | undefined, what: string, provider: string): string {
  if (value === undefined || value.trim() === '') throw new KeyError(`the master key provider '${provider}' needs ${what}`);
  return value;
}

/** Loads the 32-byte master key from the configured provider; KeyError with an operator-facing message. */
export async function loadMasterKey(spec: KeyProviderSpec, opts: KeyProviderOptions): Promise<Buffer> {
  const env = opts.env ?? process.env;
  switch (spec.provider) {
    case 'file':
      return fromFile(required(spec.file, 'a key file path', 'file'), opts.dataDir);
    case 'env':
      return fromEnv(required(spec.env, 'the name of an environment variable', 'env'), env);
    case 'command': {
      const timeout = spec.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      if (!Number.isFinite(timeout) || timeout <= 0) throw new KeyError('the master key command timeout must be a positive number');
      return fromCommand(required(spec.command, 'a command', 'command'), timeout, env);
    }
    default:
      throw new KeyError(`unknown master key provider '${String((spec as { provider: unknown }).provider)}' (use file, env or command)`);
  }
}

/**
 * Writes a new random key to a new file with mode 0600 (`jabberx keygen --out`): never over an
 * existing file (that could be the only copy of a key in use), never inside the data directory.
 */
export function writeNewKeyFile(path: string, opts: { dataDir: string }): void {
  const abs = resolve(path);
  refuseInsideDataDir(abs, opts.dataDir);
  try {
    writeFileSync(abs, `${generateKey()}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new KeyError(`${abs} already exists; a key file is never overwritten (it may be the only copy of a key in use)`);
    throw new KeyError(`the master key file ${abs} cannot be written (${code ?? 'error'})`);
  }
}
