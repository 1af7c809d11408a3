/** Runs at most `size` tasks at a time; the others wait their turn, first come first served. */
export class Slots {
  private busy = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.busy < this.size) this.busy += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The freed slot passes straight to the next task, so busy stays as it is.
      const next = this.waiting.shift();
      if (next) next();
      else this.busy -= 1;
    }
  }
}
