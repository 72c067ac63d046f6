// One retention engine for every time limit the privacy policy promises (offline messages,
// failed-login records, debug logs, later uploads and tokens): rules run at start and then
// periodically, and report counts only.
import type { Logger } from 'pino';

export interface RetentionRule {
  /** What is purged, e.g. "offline messages". */
  name: string;
  /** The host the rule applies to, or undefined for server-wide rules. */
  host?: string;
  /** How long data may be kept. */
  maxAgeMs: number;
  /** Deletes what is older than the cutoff; returns how many items went. */
  purge(cutoff: Date): Promise<number> | number;
}

export interface RetentionReport {
  name: string;
  host: string | undefined;
  maxAgeMs: number;
  purged: number;
}

export class RetentionEngine {
  readonly #rules = new Set<RetentionRule>();
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<RetentionReport[]> | undefined;

  constructor(log: Logger) {
    this.#log = log;
  }

  register(rule: RetentionRule): () => void {
    this.#rules.add(rule);
    return () => this.#rules.delete(rule);
  }

  /** The rules in force (the privacy page states them). */
  rules(): readonly RetentionRule[] {
    return [...this.#rules];
  }

  /** Runs every rule once; concurrent calls share one run. */
  run(now = Date.now()): Promise<RetentionReport[]> {
    this.#running ??= this.#runAll(now).finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #runAll(now: number): Promise<RetentionReport[]> {
    const reports: RetentionReport[] = [];
    for (const rule of this.#rules) {
      try {
        const purged = await rule.purge(new Date(now - rule.maxAgeMs));
        reports.push({ name: rule.name, host: rule.host, maxAgeMs: rule.maxAgeMs, purged });
        if (purged > 0) this.#log.info({ rule: rule.name, host: rule.host, purged }, 'retention purge');
      } catch (err) {
        this.#log.error({ err, rule: rule.name, host: rule.host }, 'retention rule failed');
      }
    }
    return reports;
  }

  /** Runs now and then every interval, or more often when a rule's limit is short (twice per limit). */
  start(intervalMs: number): void {
    let tick = intervalMs;
    for (const r of this.#rules) tick = Math.min(tick, Math.max(1000, Math.floor(r.maxAgeMs / 2)));
    void this.run();
    this.#timer = setInterval(() => void this.run(), tick);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }
}
