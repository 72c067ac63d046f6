// Open CAPTCHA challenges (XEP-0158): in memory, each good for one answer, forgotten when it
// expires; at the bound, the oldest go first.
import { randomBytes } from 'node:crypto';
import { generateCaptcha } from '../../lib/captcha.ts';

interface Challenge {
  answer: string;
  expires: number;
}

export class CaptchaChallenges {
  readonly #lifetimeMs: number;
  readonly #max: number;
  readonly #open = new Map<string, Challenge>();

  constructor(lifetimeMs: number, max: number) {
    this.#lifetimeMs = lifetimeMs;
    this.#max = max;
  }

  issue(now = Date.now()): { id: string; png: Buffer } {
    const { text, png } = generateCaptcha();
    const id = randomBytes(12).toString('hex');
    for (const [k, c] of this.#open) {
      if (this.#open.size < this.#max && c.expires > now) break;
      this.#open.delete(k);
    }
    this.#open.set(id, { answer: text, expires: now + this.#lifetimeMs });
    return { id, png };
  }

  /** 'unknown' for a challenge never issued, used already or expired; any answer uses it up. */
  solve(id: string, answer: string, now = Date.now()): 'right' | 'wrong' | 'unknown' {
    const c = this.#open.get(id);
    if (!c) return 'unknown';
    this.#open.delete(id);
    if (c.expires <= now) return 'unknown';
    return answer.replace(/\s+/g, '').toUpperCase() === c.answer ? 'right' : 'wrong';
  }

  /** Withdraws a challenge nobody will answer (its stream asked for a new one). */
  drop(id: string): void {
    this.#open.delete(id);
  }

  get size(): number {
    return this.#open.size;
  }
}
