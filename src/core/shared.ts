// Services one module offers to others on the same host (e.g. invites, used by registration and
// the web pages). Modules extend SharedMap by declaration merging:
//   declare module '../../core/shared.ts' { interface SharedMap { invites: InviteService } }
// The user names the provider in `dependencies`, so it is loaded (and has provided) first.

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface SharedMap {}

export type SharedName = keyof SharedMap;

export class SharedServices {
  readonly #values = new Map<string, unknown>();

  /** Offers a service; the returned function withdraws it (on unload). */
  provide<K extends SharedName>(name: K, value: SharedMap[K]): () => void {
    if (this.#values.has(name)) throw new Error(`shared service ${String(name)} is already provided`);
    this.#values.set(name, value);
    return () => void this.#values.delete(name);
  }

  get<K extends SharedName>(name: K): SharedMap[K] | undefined {
    return this.#values.get(name) as SharedMap[K] | undefined;
  }
}
