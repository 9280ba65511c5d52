/**
 * The angles of a round read the same pull request at the same head, each in its own child job:
 * the first to ask loads it, the others (in this process) wait for that load instead of asking
 * GitHub again. What is read at a given head does not change, so an entry may be reused for a
 * while; it is dropped after `ttlMs`, the oldest first beyond `maxEntries` (contents can be large),
 * and at once when its load fails, so a retried job asks again.
 */
export class SharedLoads {
  private readonly entries = new Map<string, { expires: number; value: Promise<unknown> }>();

  constructor(
    private readonly options: { ttlMs: number; maxEntries: number } = { ttlMs: 10 * 60_000, maxEntries: 8 },
    private readonly now: () => number = Date.now,
  ) {}

  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.now();
    for (const [old, entry] of this.entries) if (entry.expires <= now) this.entries.delete(old);
    const found = this.entries.get(key);
    if (found) return found.value as Promise<T>;
    while (this.entries.size >= this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    const value = load();
    const entry = { expires: now + this.options.ttlMs, value };
    this.entries.set(key, entry);
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return value;
  }

  get size(): number {
    return this.entries.size;
  }
}
