/**
 * The concurrency rule of one partition log, as an async lock with three modes:
 *
 *   'read'       reads and the fsync of flush(): any number at once, alongside an append;
 *   'append'     appends (and the rolls they trigger): one at a time, alongside reads;
 *   'exclusive'  truncation, retention and close: alone, because they cut or delete bytes
 *                that a read or an fsync in flight may still be using.
 *
 * Reads never wait for a slow append or fsync, which is what lets a fetch be served while a
 * produce is being written and a group-commit fsync is running.
 *
 * Fairness: requests are granted in arrival order, except that a request may pass queued
 * ones it does not conflict with (a read passes a waiting append). Nothing passes a waiting
 * request it conflicts with, so an 'exclusive' is never starved by a stream of reads.
 */
import { assert } from '@tributary/metadata-quorum'

export type LockMode = 'read' | 'append' | 'exclusive'

function compatible(a: LockMode, b: LockMode): boolean {
  if (a === 'exclusive' || b === 'exclusive') return false
  return !(a === 'append' && b === 'append')
}

interface Waiter {
  readonly mode: LockMode
  readonly grant: () => void
}

export class LogLock {
  private readonly holders = new Map<LockMode, number>([
    ['read', 0],
    ['append', 0],
    ['exclusive', 0],
  ])
  private queue: Waiter[] = []

  /** Runs `fn` holding the lock in `mode`; releases it however `fn` ends. */
  async run<T>(mode: LockMode, fn: () => Promise<T>): Promise<T> {
    await new Promise<void>((resolve) => {
      this.queue.push({ mode, grant: resolve })
      this.dispatch()
    })
    try {
      return await fn()
    } finally {
      const held = this.holders.get(mode) ?? 0
      assert(held > 0, `release of a ${mode} lock that is not held`)
      this.holders.set(mode, held - 1)
      this.dispatch()
    }
  }

  /** Whether nothing holds or waits for the lock (tests, close checks). */
  idle(): boolean {
    return this.queue.length === 0 && [...this.holders.values()].every((n) => n === 0)
  }

  private compatibleWithHolders(mode: LockMode): boolean {
    for (const [held, count] of this.holders) if (count > 0 && !compatible(mode, held)) return false
    return true
  }

  private dispatch(): void {
    const stillWaiting: Waiter[] = []
    for (const waiter of this.queue) {
      const passes = stillWaiting.every((ahead) => compatible(waiter.mode, ahead.mode))
      if (passes && this.compatibleWithHolders(waiter.mode)) {
        this.holders.set(waiter.mode, (this.holders.get(waiter.mode) ?? 0) + 1)
        waiter.grant()
      } else {
        stillWaiting.push(waiter)
      }
    }
    this.queue = stillWaiting
  }
}
