// "Something the status page shows has changed": every journal record, a
// runner arriving, leaving or draining. Whoever shows the state (page event
// streams, log followers waiting for their job to end, `keel logs`) listens
// here instead of being called from the code that made the change. The
// changes of one turn of the event loop are told once, after it, so a burst
// of a thousand records costs each listener one look.

export class Changes {
  /** Counts every change, so a listener can tell whether anything happened since it last looked. */
  version = 0;
  private readonly listeners = new Set<() => void>();
  private scheduled = false;

  changed(): void {
    this.version += 1;
    if (this.scheduled || this.listeners.size === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      for (const listener of [...this.listeners]) listener();
    });
  }

  /** Calls `listener` after each turn with changes; returns the way to stop. */
  listen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
