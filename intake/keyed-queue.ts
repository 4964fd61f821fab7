/**
 * Runs tasks with bounded concurrency while keeping tasks that share a key in
 * submission order: a target's events reach its incident in the order they
 * were delivered, while different targets proceed in parallel.
 */
export class KeyedQueue {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly perKey = new Map<string, number>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private pending = 0;
  private idleWaiters: (() => void)[] = [];

  /** @param concurrency most tasks running at once, across all keys. */
  constructor(private readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }

  /** Tasks queued or running. */
  get size(): number {
    return this.pending;
  }

  /** Tasks running right now. */
  get active(): number {
    return this.running;
  }

  /** Tasks queued or running for `key`, including the caller when called from inside one. */
  pendingFor(key: string): number {
    return this.perKey.get(key) ?? 0;
  }

  /** Queues `task` behind earlier tasks with the same key. */
  push(key: string, task: () => Promise<void>): void {
    this.pending += 1;
    this.perKey.set(key, (this.perKey.get(key) ?? 0) + 1);
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => this.withSlot(task))
      .finally(() => {
        this.pending -= 1;
        const left = (this.perKey.get(key) ?? 1) - 1;
        if (left === 0) this.perKey.delete(key);
        else this.perKey.set(key, left);
        if (this.chains.get(key) === next) this.chains.delete(key);
        if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    this.chains.set(key, next);
  }

  /** Resolves when nothing is queued or running. */
  onIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async withSlot(task: () => Promise<void>): Promise<void> {
    // A finishing task hands its slot straight to the next waiter, so a newcomer cannot overtake and exceed the bound.
    if (this.running >= this.concurrency) await new Promise<void>((r) => this.waiting.push(r));
    else this.running += 1;
    try {
      await task();
    } catch {
      // Tasks handle their own errors; a throw must not stall the key's chain.
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
