/**
 * A FIFO async mutex: one holder at a time, waiters served in arrival order. A Partition uses
 * one to serialize everything that changes it (leader appends, follower appends, truncation,
 * role transitions, close), so each sees a consistent log and replication state.
 */
export class AsyncMutex {
  private tail: Promise<void> = Promise.resolve()
  private waiting = 0

  /** How many callers hold or wait for the mutex. */
  get queued(): number {
    return this.waiting
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail
    let release!: () => void
    this.tail = new Promise<void>((resolve) => {
      release = resolve
    })
    this.waiting++
    try {
      await previous
      return await fn()
    } finally {
      this.waiting--
      release()
    }
  }
}
