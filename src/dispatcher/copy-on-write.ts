// What one step of a pure planner (gate/plan.ts, patches/plan.ts) changes:
// items of a view are copied the first time the step touches them, so the
// view stays as it was and the step's result is exactly what it changed.

export class CopyOnWrite<T extends { id: string }> {
  private readonly changed = new Map<string, T>();

  constructor(private readonly view: ReadonlyMap<string, T>) {}

  /** The item, copied for this step on first use; it must be known. */
  get(id: string): T {
    let item = this.changed.get(id);
    if (!item) {
      item = structuredClone(this.view.get(id)!);
      this.changed.set(id, item);
    }
    return item;
  }

  /** The item as this step leaves it, without copying it; undefined when it is not known. */
  peek(id: string): T | undefined {
    return this.changed.get(id) ?? this.view.get(id);
  }

  /** An item this step makes. */
  add(item: T): void {
    this.changed.set(item.id, item);
  }

  /** Every item as this step leaves it. */
  all(): T[] {
    const ids = new Set([...this.view.keys(), ...this.changed.keys()]);
    return [...ids].map((id) => this.peek(id)!);
  }

  /** What this step changed or made. */
  changes(): T[] {
    return [...this.changed.values()];
  }
}
