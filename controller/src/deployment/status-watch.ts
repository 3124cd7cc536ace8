/**
 * Wakes the deployments waiting on runtime status: at once when a change is announced,
 * else after `pollMs` (an announcement may be lost; nothing may depend on one arriving).
 */
export class StatusWatch {
  private readonly pollMs: number;
  private readonly waiters = new Set<() => void>();
  /** Counts announcements: a waiter that looked before one came does not wait. */
  generation = 0;

  constructor(pollMs: number) {
    this.pollMs = pollMs;
  }

  changed(): void {
    this.generation++;
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves on the first announcement after `generation`, after `pollMs`, or after `maxMs`, whichever is first. */
  changeAfter(generation: number, maxMs: number): Promise<void> {
    if (this.generation !== generation) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(Math.min(this.pollMs, maxMs), 1));
      this.waiters.add(wake);
    });
  }
}
