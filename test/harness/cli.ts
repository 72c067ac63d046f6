// Runs the `jabberx` command as an operator types it: its own process, any working directory,
// no --config added (test/harness/server.ts's cli() adds the test server's).
import { spawn } from 'node:child_process';
import { join, resolve as resolvePath } from 'node:path';
import { REPO_ROOT } from './paths.ts';
import { nodeBinary } from './server.ts';

export interface JabberxResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface JabberxOptions {
  cwd?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * Standard input: text written (and closed) at once, before the command reads anything, as
   * `printf … | jabberx`; or an open file descriptor, as `jabberx < FILE`. Default: none.
   */
  stdin?: string | number;
}

/** Runs `jabberx ARGS` to its end (killed after timeoutMs). */
export function jabberx(args: string[], opts: JabberxOptions = {}): Promise<JabberxResult> {
  const env = { ...(opts.env ?? process.env) };
  // The test CA is given relative to the repository; the command may run in another folder.
  const ca = env['NODE_EXTRA_CA_CERTS'];
  if (ca) env['NODE_EXTRA_CA_CERTS'] = resolvePath(ca);
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBinary(), [join(REPO_ROOT, 'src', 'main.ts'), ...args], {
      cwd: opts.cwd ?? REPO_ROOT,
      env,
      stdio: [typeof opts.stdin === 'number' ? opts.stdin : typeof opts.stdin === 'string' ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    if (typeof opts.stdin === 'string') child.stdin?.end(opts.stdin);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
