// Latency histogram for the load generator: log-scale buckets 1 % wide from 1 µs, so percentiles
// are exact to 1 % whatever the sample count, and workers' histograms merge by adding counts.

const GROWTH = Math.log(1.01);
const BUCKETS = 2000; // 1.01^2000 µs ≈ 4.4e8 µs: anything slower lands in the last bucket

export class Histogram {
  counts: number[];
  n = 0;
  max = 0;

  constructor(counts?: number[]) {
    this.counts = counts ?? new Array<number>(BUCKETS).fill(0);
    if (counts) for (const c of counts) this.n += c;
  }

  /** Record one latency in milliseconds. */
  add(ms: number): void {
    const us = ms * 1000;
    const i = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(us) / GROWTH));
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.n++;
    if (ms > this.max) this.max = ms;
  }

  merge(other: { counts: number[]; max: number }): void {
    for (let i = 0; i < BUCKETS; i++) {
      const c = other.counts[i] ?? 0;
      this.counts[i] = (this.counts[i] ?? 0) + c;
      this.n += c;
    }
    if (other.max > this.max) this.max = other.max;
  }

  /** The q-quantile (0..1) in milliseconds: the upper edge of the bucket holding it. */
  quantile(q: number): number {
    if (this.n === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) return Math.min(Math.exp((i + 1) * GROWTH) / 1000, this.max || Infinity);
    }
    return this.max;
  }

  /** A compact form for IPC: only the non-empty buckets. */
  toJSON(): { buckets: Array<[number, number]>; max: number } {
    const buckets: Array<[number, number]> = [];
    this.counts.forEach((c, i) => {
      if (c) buckets.push([i, c]);
    });
    return { buckets, max: this.max };
  }

  static fromJSON(j: { buckets: Array<[number, number]>; max: number }): Histogram {
    const h = new Histogram();
    for (const [i, c] of j.buckets) {
      h.counts[i] = c;
      h.n += c;
    }
    h.max = j.max;
    return h;
  }
}
