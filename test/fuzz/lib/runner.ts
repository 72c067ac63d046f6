// Fuzz runner for `npm run fuzz`: runs fast-check properties with a per-input time bound that also
// catches infinite loops. Pure targets run in a worker thread that counts each input it starts (and
// a busy flag) in shared memory; the main thread terminates a worker that stays on one input too
// long and reports that input, regenerated from the seed, as a hang. An input that finishes but runs
// over its bound is a hang too. A crash is any exception or broken property.
//
// Environment: FUZZ_SCALE multiplies every input count (e.g. 0.1 for a smoke run, 10 for a long
// one); FUZZ_SEED and FUZZ_PATH replay a reported failure (printed with it).
import { describe, it, type TestContext } from 'node:test';
import { Worker, isMainThread } from 'node:worker_threads';
import { basename, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';

export interface FuzzTarget<T> {
  /** Built in the worker: arbitraries cannot cross threads. */
  arbitrary: () => fc.Arbitrary<T>;
  /** Throws (or rejects) on a crash or a broken property. */
  check: (input: T) => void | Promise<void>;
  /** Inputs to run. */
  runs: number;
  /** An input taking longer than this is a hang (default 1000 ms). */
  timeoutMs?: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a table of targets of different input types
export type Targets = Record<string, FuzzTarget<any>>;

export interface FuzzResult {
  name: string;
  /** The fuzz file, relative to the repository, for the replay command. */
  file?: string;
  inputs: number;
  crashes: number;
  hangs: number;
  seed: number;
  /** Set when an input failed: what, the (shrunk) input, and how to replay it. */
  failure?: { kind: 'crash' | 'hang'; input: string; error: string; path: string | null; shrinks: number };
  ms: number;
}

/** What the worker gets (see worker.ts). */
export interface WorkerInput {
  moduleUrl: string;
  name: string;
  runs: number;
  seed: number;
  path: string | undefined;
  timeoutMs: number;
  /** [inputs started, busy flag] */
  shared: SharedArrayBuffer;
  /** Only generate the input at `path` and post its description (to name the input of a hang). */
  describeOnly?: boolean;
}

/** Messages from the worker. */
export type WorkerMessage =
  | { type: 'result'; result: FuzzResult }
  /** An input that finished but ran over its bound: shrinking follows and may itself hang. */
  | { type: 'slow'; input: string }
  | { type: 'input'; input: string };

/** Thrown by the worker when an input finished but took longer than its bound. */
export class SlowInput extends Error {
  override readonly name = 'SlowInput';
}

const SCALE = Number(process.env['FUZZ_SCALE'] ?? '1') || 1;

export function scaled(runs: number): number {
  return Math.max(1, Math.round(runs * SCALE));
}

export function pickSeed(): number {
  const fixed = process.env['FUZZ_SEED'];
  return fixed !== undefined && fixed !== '' ? Number(fixed) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
}

export function summary(r: FuzzResult): string {
  const line = `${r.name}: ${String(r.inputs)} inputs, ${String(r.crashes)} crashes, ${String(r.hangs)} hangs (${(r.ms / 1000).toFixed(1)} s, seed ${String(r.seed)})`;
  if (!r.failure) return line;
  const f = r.failure;
  return [
    line,
    `  ${f.kind} on input${f.shrinks > 0 ? ` (shrunk ${String(f.shrinks)} times)` : ''}: ${f.input}`,
    `  error: ${f.error}`,
    `  replay: FUZZ_SEED=${String(r.seed)}${f.path !== null ? ` FUZZ_PATH=${f.path}` : ''} node_modules/.bin/node --test ` +
      `--test-name-pattern='^${r.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$' ${r.file ?? 'test/fuzz/'}`,
  ].join('\n');
}

function describeError(e: unknown): string {
  if (e instanceof Error) return (e.stack ?? `${e.name}: ${e.message}`).split('\n').slice(0, 6).join('\n    ');
  return String(e);
}

/** Runs one target in a worker thread under the hang watchdog. */
export function runInWorker(moduleUrl: string, name: string, target: FuzzTarget<unknown>): Promise<FuzzResult> {
  const timeoutMs = target.timeoutMs ?? 1000;
  // A stuck input is killed after this long; one that merely ran over its bound is reported by the worker.
  const hangMs = Math.max(5 * timeoutMs, 5000);
  const seed = pickSeed();
  const shared = new SharedArrayBuffer(8);
  const state = new Int32Array(shared);
  const data: WorkerInput = { moduleUrl, name, runs: scaled(target.runs), seed, path: process.env['FUZZ_PATH'], timeoutMs, shared };
  const started = performance.now();
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: data });
  return new Promise<FuzzResult>((resolve, reject) => {
    let last = -1;
    let since = performance.now();
    let settled = false;
    let slowInput: string | undefined;
    let terminating = false;
    const finish = (r: FuzzResult | Error): void => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const hang = async (count: number): Promise<void> => {
      terminating = true;
      await worker.terminate();
      // Inputs are not serialized up front (that would cost more than most checks): a hang in the
      // initial runs is the input at path count-1 of the same seed, which a second worker regenerates.
      const input = slowInput !== undefined && !data.path ? `${slowInput} (or a shrunk form of it)` : await describeInput(data, count - 1);
      finish({
        name, inputs: count, crashes: 0, hangs: 1, seed, ms: performance.now() - started,
        failure: { kind: 'hang', input, error: `no result after ${String(hangMs)} ms (worker terminated)`, path: data.path ?? String(count - 1), shrinks: 0 },
      });
    };
    const watchdog = setInterval(() => {
      const count = Atomics.load(state, 0);
      const busy = Atomics.load(state, 1) === 1;
      if (count !== last || !busy) {
        last = count;
        since = performance.now();
        return;
      }
      if (performance.now() - since < hangMs) return;
      clearInterval(watchdog);
      hang(count).catch((e: unknown) => finish(e instanceof Error ? e : new Error(String(e))));
    }, 100);
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'slow') slowInput = m.input;
      else if (m.type === 'result') finish({ ...m.result, ms: performance.now() - started });
    });
    worker.on('error', (e: unknown) => finish(e instanceof Error ? e : new Error(String(e))));
    worker.on('exit', (code) => {
      if (!terminating) finish(new Error(`fuzz worker for ${name} exited (code ${String(code)}) without a result`));
    });
  });
}

/** Regenerates (without running) the input at `path` of a seed, for a hang report. */
function describeInput(data: WorkerInput, index: number): Promise<string> {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), {
    workerData: { ...data, path: data.path ?? String(index), describeOnly: true, shared: new SharedArrayBuffer(8) } satisfies WorkerInput,
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      resolve('(input could not be regenerated)');
    }, 30_000);
    worker.on('message', (m: WorkerMessage) => {
      if (m.type !== 'input') return;
      clearTimeout(timer);
      void worker.terminate();
      resolve(m.input);
    });
    worker.on('error', () => resolve('(input could not be regenerated)'));
  });
}

/** Runs a property in this thread, for targets that are I/O-bound (a hang there is a request that never completes). */
export async function runInline<T>(name: string, target: FuzzTarget<T>): Promise<FuzzResult> {
  const timeoutMs = target.timeoutMs ?? 1000;
  const seed = pickSeed();
  const started = performance.now();
  const prop = fc.asyncProperty(target.arbitrary(), async (input) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SlowInput(`no result after ${String(timeoutMs)} ms`)), timeoutMs);
    });
    try {
      await Promise.race([Promise.resolve(target.check(input)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  });
  const path = process.env['FUZZ_PATH'];
  const details = await fc.check(prop, { numRuns: scaled(target.runs), seed, ...(path ? { path } : {}) });
  return toResult(name, details, seed, performance.now() - started);
}

/** Converts fast-check's run details (also used by the worker). */
export function toResult<T>(name: string, details: fc.RunDetails<[T]>, seed: number, ms: number): FuzzResult {
  const base = { name, inputs: details.numRuns, seed, ms };
  if (!details.failed) return { ...base, crashes: 0, hangs: 0 };
  const hang = details.errorInstance instanceof SlowInput;
  const input = details.counterexample ? fc.stringify(details.counterexample[0]) : '(none)';
  return {
    ...base,
    crashes: hang ? 0 : 1,
    hangs: hang ? 1 : 0,
    failure: {
      kind: hang ? 'hang' : 'crash',
      input: input.length > 4000 ? `${input.slice(0, 4000)}… (${String(input.length)} chars)` : input,
      error: describeError(details.errorInstance),
      path: details.counterexamplePath,
      shrinks: details.numShrinks,
    },
  };
}

/** Reports a result on the test and fails it on any crash or hang. */
export function report(t: TestContext, r: FuzzResult, file?: string): void {
  const text = summary(file !== undefined ? { ...r, file } : r);
  t.diagnostic(text.split('\n')[0] ?? text);
  if (r.failure) throw new Error(text);
}

/**
 * Registers one test per target of a `*.fuzz.ts` file (which passes its own import.meta.url, so the
 * worker can load the same targets). Does nothing inside the worker.
 */
export function fuzzTests(moduleUrl: string, targets: Targets): void {
  if (!isMainThread) return;
  void describe(basename(fileURLToPath(moduleUrl)), () => {
    for (const [name, target] of Object.entries(targets)) {
      const file = relative(process.cwd(), fileURLToPath(moduleUrl));
      void it(name, async (t) => report(t, { ...(await runInWorker(moduleUrl, name, target as FuzzTarget<unknown>)), file }));
    }
  });
}
