// Typed option declarations: one declaration gives the TS type, the start-up validation and the docs.
import { ConfigError } from './errors.ts';

export interface OptionDecl<T> {
  readonly kind: 'boolean' | 'integer' | 'period' | 'size' | 'string' | 'enum' | 'list';
  readonly default: T;
  readonly doc: string;
  /** Human-readable default for the docs (e.g. "7d"). */
  readonly defaultText: string;
  /** Throws a message (string) when the raw value is invalid. */
  parse(raw: unknown): T;
}

export type OptionDecls = Record<string, OptionDecl<unknown>>;
export type OptionValues<D extends OptionDecls> = { readonly [K in keyof D]: D[K] extends OptionDecl<infer V> ? V : never };

const PERIOD_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1 << 20, mb: 1 << 20, mib: 1 << 20, g: 1 << 30, gb: 1 << 30, gib: 1 << 30 };

/** "7d", "12h", "90s", "500ms" or a number of seconds -> milliseconds. */
export function parsePeriod(raw: unknown): number {
  if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return raw * 1000;
  if (typeof raw === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(raw);
    if (m) return Math.round(Number(m[1]) * (PERIOD_UNITS[m[2] ?? 's'] ?? 1000));
  }
  throw `expected a period like "7d", "12h", "30m", "45s" or a number of seconds, got ${JSON.stringify(raw)}`;
}

/** "10MB", "256k", or a number of bytes -> bytes. */
export function parseSize(raw: unknown): number {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0) return raw;
  if (typeof raw === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
    const unit = SIZE_UNITS[(m?.[2] ?? '').toLowerCase()];
    if (m && unit !== undefined) return Math.round(Number(m[1]) * unit);
  }
  throw `expected a size like "10MB", "256KiB" or a number of bytes, got ${JSON.stringify(raw)}`;
}

function bounded(n: number, min: number | undefined, max: number | undefined, show: (n: number) => string): number {
  if (min !== undefined && n < min) throw `must be at least ${show(min)}, got ${show(n)}`;
  if (max !== undefined && n > max) throw `must be at most ${show(max)}, got ${show(n)}`;
  return n;
}

interface Bounds {
  min?: number;
  max?: number;
}

export const option = {
  boolean(def: boolean, doc: string): OptionDecl<boolean> {
    return {
      kind: 'boolean', default: def, doc, defaultText: String(def),
      parse(raw) {
        if (typeof raw !== 'boolean') throw `expected true or false, got ${JSON.stringify(raw)}`;
        return raw;
      },
    };
  },
  integer(def: number, doc: string, b: Bounds = {}): OptionDecl<number> {
    return {
      kind: 'integer', default: def, doc, defaultText: String(def),
      parse(raw) {
        if (typeof raw !== 'number' || !Number.isInteger(raw)) throw `expected a whole number, got ${JSON.stringify(raw)}`;
        return bounded(raw, b.min, b.max, String);
      },
    };
  },
  /** A duration; the value is in milliseconds. Bounds are in milliseconds too. */
  period(def: string, doc: string, b: Bounds = {}): OptionDecl<number> {
    return {
      kind: 'period', default: parsePeriod(def), doc, defaultText: def,
      parse: (raw) => bounded(parsePeriod(raw), b.min, b.max, (n) => `${n / 1000}s`),
    };
  },
  /** A size; the value is in bytes. */
  size(def: string | number, doc: string, b: Bounds = {}): OptionDecl<number> {
    return {
      kind: 'size', default: parseSize(def), doc, defaultText: String(def),
      parse: (raw) => bounded(parseSize(raw), b.min, b.max, (n) => `${n} bytes`),
    };
  },
  string(def: string, doc: string): OptionDecl<string> {
    return {
      kind: 'string', default: def, doc, defaultText: JSON.stringify(def),
      parse(raw) {
        if (typeof raw !== 'string') throw `expected a string, got ${JSON.stringify(raw)}`;
        return raw;
      },
    };
  },
  enum<T extends string>(values: readonly T[], def: T, doc: string): OptionDecl<T> {
    return {
      kind: 'enum', default: def, doc, defaultText: def,
      parse(raw) {
        if (typeof raw !== 'string' || !(values as readonly string[]).includes(raw)) {
          throw `expected one of ${values.join(', ')}, got ${JSON.stringify(raw)}`;
        }
        return raw as T;
      },
    };
  },
  list(def: string[], doc: string): OptionDecl<string[]> {
    return {
      kind: 'list', default: def, doc, defaultText: JSON.stringify(def),
      parse(raw) {
        if (!Array.isArray(raw) || !raw.every((x) => typeof x === 'string')) throw `expected a list of strings, got ${JSON.stringify(raw)}`;
        return raw as string[];
      },
    };
  },
};

/**
 * Validates raw options against declarations. Unknown keys and invalid values throw a ConfigError
 * naming `${scope}.${key}`, the host and the line (lines: key -> line number, where known).
 */
export function parseOptions<D extends OptionDecls>(
  decls: D,
  raw: Record<string, unknown>,
  scope: string,
  where: { host?: string; lines?: Map<string, number> } = {},
): OptionValues<D> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(raw)) {
    if (!(key in decls)) {
      const known = Object.keys(decls).join(', ') || 'none';
      throw new ConfigError(`${scope}.${key}`, `unknown option (known: ${known})`, { host: where.host, line: where.lines?.get(key) });
    }
  }
  for (const [key, decl] of Object.entries(decls)) {
    if (raw[key] === undefined || raw[key] === null) {
      out[key] = decl.default;
      continue;
    }
    try {
      out[key] = decl.parse(raw[key]);
    } catch (e) {
      throw new ConfigError(`${scope}.${key}`, typeof e === 'string' ? e : String(e), { host: where.host, line: where.lines?.get(key) });
    }
  }
  return out as OptionValues<D>;
}
