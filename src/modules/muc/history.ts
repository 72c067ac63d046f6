// Room history: IN MEMORY ONLY (the server's promise: no chat history is stored), bounded in
// count and age, gone when the room goes or the server restarts.
import type { Element } from '../../core/xml/element.ts';

export interface HistoryEntry {
  stanza: Element;
  when: Date;
  /** Serialized size, for <history maxchars/>. */
  chars: number;
}

/** What a joining client asked for (XEP-0045 §7.2.15). */
export interface HistoryRequest {
  maxchars?: number;
  maxstanzas?: number;
  seconds?: number;
  since?: Date;
}

export class RoomHistory {
  #entries: HistoryEntry[] = [];

  readonly #maxAgeMs: number;

  constructor(maxAgeMs: number) {
    this.#maxAgeMs = maxAgeMs;
  }

  add(stanza: Element, limit: number): void {
    if (limit <= 0) return;
    this.#entries.push({ stanza, when: new Date(), chars: stanza.toString().length });
    while (this.#entries.length > limit) this.#entries.shift();
  }

  clear(): void {
    this.#entries = [];
  }

  /** The entries to replay, oldest first, within the room's limit and the client's request. */
  select(limit: number, req: HistoryRequest): HistoryEntry[] {
    const cutoff = Date.now() - this.#maxAgeMs;
    if (limit <= 0) return [];
    let list = this.#entries.filter((e) => e.when.getTime() >= cutoff).slice(-limit);
    if (req.seconds !== undefined) list = list.filter((e) => e.when.getTime() >= Date.now() - req.seconds! * 1000);
    if (req.since) list = list.filter((e) => e.when.getTime() > req.since!.getTime());
    if (req.maxstanzas !== undefined) list = req.maxstanzas === 0 ? [] : list.slice(-req.maxstanzas);
    if (req.maxchars !== undefined) {
      let total = 0;
      const kept: HistoryEntry[] = [];
      for (let i = list.length - 1; i >= 0; i--) {
        total += list[i]!.chars;
        if (total > req.maxchars) break;
        kept.unshift(list[i]!);
      }
      list = kept;
    }
    return list;
  }
}
