/**
 * StoreQueue: runs the driver's RaftStore calls one at a time, in the order they were asked
 * for, so the driver loop can start a snapshot save and go on ticking, receiving and
 * sending while it is written.
 *
 * Why: RaftStore forbids overlapping calls (FsRaftStore asserts it), yet a snapshot save can
 * take hundreds of milliseconds; awaiting it inside the loop stalled Raft long enough for a
 * leader to fail check-quorum. The queue keeps the store's rule and lifts the stall.
 *
 * Invariants:
 *   - the store sees at most one call at a time, in FIFO order: a Ready persisted after a
 *     snapshot was queued is written after that snapshot, exactly as if the loop had waited;
 *   - at most STORE_OPS_QUEUED_MAX calls are queued or running (the driver has at most one
 *     Ready and one snapshot outstanding);
 *   - after a call fails, every later call fails with the same error: after an fsync error
 *     the store is failed for good (see raft-store.ts), and so is the node.
 */
import type { Ready, Snapshot } from '../raft/types.js'
import type { RaftStore } from '../store/raft-store.js'
import { assert } from '../util/assert.js'
import { STORE_OPS_QUEUED_MAX } from './node-limits.js'

export class StoreQueue {
  private readonly store: RaftStore
  /** Settles when every call queued so far has finished (never rejects). */
  private tail: Promise<void> = Promise.resolve()
  private queued = 0
  private failure: { readonly err: unknown } | null = null

  constructor(store: RaftStore) {
    this.store = store
  }

  /** Calls queued or running. */
  get depth(): number {
    return this.queued
  }

  persist(ready: Ready): Promise<void> {
    return this.enqueue(() => this.store.persist(ready))
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.enqueue(() => this.store.saveSnapshot(snapshot))
  }

  /** Resolves once every call queued so far has finished, whatever its outcome. */
  idle(): Promise<void> {
    return this.tail
  }

  /** Waits for the queued calls, then closes the store. */
  async close(): Promise<void> {
    await this.tail
    await this.store.close()
  }

  private enqueue(call: () => Promise<void>): Promise<void> {
    assert(this.queued < STORE_OPS_QUEUED_MAX, `more than ${STORE_OPS_QUEUED_MAX} store calls queued`)
    this.queued++
    const result = this.tail.then(async () => {
      try {
        if (this.failure !== null) throw this.failure.err
        await call()
      } catch (err) {
        this.failure ??= { err }
        throw err
      } finally {
        this.queued--
      }
    })
    this.tail = result.catch(() => {})
    return result
  }
}
