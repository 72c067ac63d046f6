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

/** Runs `jabberx ARGS` to its end (killed after timeoutMs). */
export function jabberx(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<JabberxResult> {
  const env = { ...(opts.env ?? process.env) };
  // The test CA is given relative to the repository; the command may run in another folder.
  const ca = env['NODE_EXTRA_CA_CERTS'];
  if (ca) env['NODE_EXTRA_CA_CERTS'] = resolvePath(ca);
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBinary(), [join(REPO_ROOT, 'src', 'main.ts'), ...args], {
      cwd: opts.cwd ?? REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
