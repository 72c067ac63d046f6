// Worker side of runner.ts: loads the fuzz file's targets and runs one of them, counting inputs in
// shared memory so the main thread can tell a stuck input from a slow run.
import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { SlowInput, toResult, type FuzzTarget, type Targets, type WorkerInput, type WorkerMessage } from './runner.ts';

const data = workerData as WorkerInput;
const state = new Int32Array(data.shared);
const post = (m: WorkerMessage): void => parentPort?.postMessage(m);

const mod = (await import(data.moduleUrl)) as { targets?: Targets };
const target = mod.targets?.[data.name] as FuzzTarget<unknown> | undefined;
if (target === undefined) throw new Error(`no fuzz target ${data.name} in ${data.moduleUrl}`);

if (data.describeOnly) {
  // Regenerate the input at data.path without running it.
  fc.check(
    fc.property(target.arbitrary(), (input) => {
      post({ type: 'input', input: fc.stringify(input) });
      return false;
    }),
    { seed: data.seed, ...(data.path ? { path: data.path } : {}), endOnFailure: true },
  );
} else {
  const prop = fc.asyncProperty(target.arbitrary(), async (input) => {
    Atomics.add(state, 0, 1);
    Atomics.store(state, 1, 1);
    const started = performance.now();
    try {
      await target.check(input);
    } finally {
      Atomics.store(state, 1, 0);
    }
    const ms = performance.now() - started;
    if (ms > data.timeoutMs) {
      post({ type: 'slow', input: fc.stringify(input) });
      throw new SlowInput(`took ${ms.toFixed(0)} ms (bound ${String(data.timeoutMs)} ms)`);
    }
  });
  const started = performance.now();
  const details = await fc.check(prop, { numRuns: data.runs, seed: data.seed, ...(data.path ? { path: data.path } : {}) });
  post({ type: 'result', result: toResult(data.name, details, data.seed, performance.now() - started) });
}
