// At most one of something per key per window: the dispatcher logs a peer's
// TLS mistake once a minute, not once per retry. The table is pruned as it
// goes, so a flood of new keys cannot grow it without bound.

const MAX_KEYS = 10_000;

export class OncePer {
  private readonly last = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  /** True when `key` had nothing allowed within the window before `now` (and records this one). */
  allow(key: string, now: number): boolean {
    const previous = this.last.get(key);
    if (previous !== undefined && now - previous < this.windowMs) return false;
    if (this.last.size >= MAX_KEYS) this.prune(now);
    // Re-inserted, so the map stays in the order keys were last allowed and pruning stops early.
    this.last.delete(key);
    this.last.set(key, now);
    return true;
  }

  private prune(now: number): void {
    for (const [key, at] of this.last) {
      if (now - at < this.windowMs && this.last.size < MAX_KEYS) break;
      this.last.delete(key);
    }
  }
}
