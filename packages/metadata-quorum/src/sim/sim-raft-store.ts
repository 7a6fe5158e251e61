/**
 * SimRaftStore: one node's simulated disk for Raft state (hard state, snapshot, log).
 *
 * It keeps two copies of the state:
 *   - `durable`: what survives a crash (what was fsynced);
 *   - `written`: what the node has written, synced or not (what the node itself believes
 *     its log is; the invariant checker reads this one for "the leader's log").
 * A write (step 1 of the Ready contract in raft/types.ts) changes `written` and queues the
 * operations in the contract's order: the hard state, then the log (snapshot, truncation,
 * entries); `sync()` makes every queued operation durable; `crash()` throws the queue away,
 * so `written` falls back to `durable`. Persisting is therefore three steps (hard state,
 * log, fsync), and the simulator may crash a node between any two: the messages that were
 * to be sent after the fsync are lost, which is what makes such a crash legal. What the
 * disk kept of the queue depends on where the crash hit (`DurableAtCrash`):
 *   - 'nothing': before or during the hard-state step;
 *   - 'hard_state': after it (FsRaftStore makes the hard state durable on its own, first);
 *   - 'log': the log writes reached the disk and the hard state did not. The store's order
 *     rules this out; it is the shape an older order left (a log epoch above the durable
 *     hard state's), kept so the simulator checks that RaftCore still starts from it.
 *
 * A snapshot the node takes itself (`saveLocalSnapshot`) is atomic and durable at once, as
 * a real store writes a temporary file, fsyncs it and renames it.
 *
 * The store also checks the shape of what it is asked to write (contiguous appends, no
 * truncation below the snapshot). A bad write is a bug in the node, reported as a
 * `StoreError` value so the simulator can name the seed rather than crash.
 *
 * For planted-bug tests, `lyingSyncProbability` makes some syncs return without making the
 * queue durable (a disk cache that lies about fsync); the checker must then catch the loss.
 */
import type { HardState, Offset, PersistentState, RaftEntry, Ready, Snapshot } from '../raft/types.js'
import { assert } from '../util/assert.js'
import type { Random } from '../util/random.js'

type WriteOp =
  | { readonly kind: 'snapshot'; readonly snapshot: Snapshot }
  | { readonly kind: 'truncate'; readonly from: Offset }
  | { readonly kind: 'append'; readonly entries: readonly RaftEntry[] }
  | { readonly kind: 'hard_state'; readonly hardState: HardState }
  | { readonly kind: 'compact'; readonly snapshot: Snapshot }

/** Which queued (unsynced) writes a crash leaves on the disk. */
export type DurableAtCrash = 'nothing' | 'hard_state' | 'log'

export interface StoreError {
  readonly kind: 'store_error'
  readonly message: string
}

/** A log as a disk would hold it: a snapshot and the contiguous entries after it. */
export class StoredLog {
  hardState: HardState
  snapshot: Snapshot | null
  /** entries[i].offset === startOffset + i */
  entries: RaftEntry[]

  constructor(state: PersistentState) {
    this.hardState = state.hardState
    this.snapshot = state.snapshot
    this.entries = state.entries.slice()
  }

  /** First offset held as an entry (the snapshot covers everything below). */
  get startOffset(): Offset {
    return this.snapshot === null ? 0 : this.snapshot.id.endOffset
  }

  get endOffset(): Offset {
    return this.startOffset + this.entries.length
  }

  entryAt(offset: Offset): RaftEntry | undefined {
    const i = offset - this.startOffset
    return i >= 0 && i < this.entries.length ? this.entries[i] : undefined
  }

  toPersistentState(): PersistentState {
    return { hardState: this.hardState, snapshot: this.snapshot, entries: this.entries.slice() }
  }

  copyFrom(other: StoredLog): void {
    this.hardState = other.hardState
    this.snapshot = other.snapshot
    this.entries = other.entries.slice()
  }

  apply(op: WriteOp): string | null {
    switch (op.kind) {
      case 'snapshot':
        // A snapshot from the leader replaces the whole log (Ready.snapshot).
        this.snapshot = op.snapshot
        this.entries = []
        return null
      case 'truncate': {
        if (op.from < this.startOffset) {
          return `truncate from ${op.from} below the snapshot end ${this.startOffset}`
        }
        if (op.from < this.endOffset) this.entries.length = op.from - this.startOffset
        return null
      }
      case 'append': {
        let end = this.endOffset
        for (const e of op.entries) {
          if (e.offset !== end) return `append of offset ${e.offset} at log end ${end}`
          this.entries.push(e)
          end++
        }
        return null
      }
      case 'hard_state':
        this.hardState = op.hardState
        return null
      case 'compact': {
        const id = op.snapshot.id
        if (id.endOffset < this.startOffset) return null // an older snapshot than the one held: ignore
        const last = this.entryAt(id.endOffset - 1)
        if (last !== undefined && last.epoch !== id.epoch) {
          return `local snapshot ${id.endOffset}@${id.epoch} disagrees with log entry epoch ${last.epoch}`
        }
        const drop = Math.min(id.endOffset - this.startOffset, this.entries.length)
        // If the snapshot reaches past the log end, drop === length and nothing is kept.
        this.entries.splice(0, drop)
        this.snapshot = op.snapshot
        return null
      }
    }
  }
}

export class SimRaftStore {
  readonly durable: StoredLog
  readonly written: StoredLog
  private queue: WriteOp[] = []
  private syncCount = 0
  private lostWriteCount = 0

  constructor(
    initial: PersistentState,
    private readonly random: Random,
    private readonly lyingSyncProbability = 0,
  ) {
    this.durable = new StoredLog(initial)
    this.written = new StoredLog(initial)
  }

  get hasUnsynced(): boolean {
    return this.queue.length > 0
  }

  get syncs(): number {
    return this.syncCount
  }

  /** Operations lost by crashes so far. */
  get lostWrites(): number {
    return this.lostWriteCount
  }

  /** Step 1a of the Ready contract: write, in the contract's order, without syncing. */
  write(ready: Ready): StoreError | null {
    if (ready.hardState !== null) {
      const err = this.push({ kind: 'hard_state', hardState: ready.hardState })
      if (err !== null) return err
    }
    if (ready.snapshot !== null) {
      const err = this.push({ kind: 'snapshot', snapshot: ready.snapshot })
      if (err !== null) return err
    }
    if (ready.truncateFrom !== null) {
      const err = this.push({ kind: 'truncate', from: ready.truncateFrom })
      if (err !== null) return err
    }
    if (ready.entries.length > 0) {
      const err = this.push({ kind: 'append', entries: ready.entries })
      if (err !== null) return err
    }
    return null
  }

  /** Step 1b: fsync. Everything written so far becomes durable (unless the disk lies). */
  sync(): StoreError | null {
    this.syncCount++
    if (this.queue.length === 0) return null
    if (this.lyingSyncProbability > 0 && this.random.next() < this.lyingSyncProbability) return null
    const queue = this.queue
    this.queue = []
    for (const op of queue) {
      const why = this.durable.apply(op)
      if (why !== null) return { kind: 'store_error', message: why }
    }
    return null
  }

  /**
   * A snapshot the node took of its own state machine: atomic and durable at once. (Only a
   * lying disk can still have writes queued here; then the snapshot queues behind them, so
   * the durable copy sees the operations in order.)
   */
  saveLocalSnapshot(snapshot: Snapshot): StoreError | null {
    const op: WriteOp = { kind: 'compact', snapshot }
    const w = this.written.apply(op)
    if (w !== null) return { kind: 'store_error', message: w }
    if (this.queue.length > 0) {
      this.queue.push(op)
      return null
    }
    const d = this.durable.apply(op)
    if (d !== null) return { kind: 'store_error', message: d }
    return null
  }

  /**
   * The process died: unsynced writes are gone, except those `kept` says reached the disk
   * anyway (in queue order). Returns how many operations were lost.
   */
  crash(kept: DurableAtCrash = 'nothing'): number {
    let lost = 0
    for (const op of this.queue) {
      const keep = kept === 'hard_state' ? op.kind === 'hard_state' : kept === 'log' ? op.kind !== 'hard_state' : false
      if (!keep) {
        lost++
        continue
      }
      // Each op was valid on `written` in this order; skipping hard-state ops changes no log shape.
      const why = this.durable.apply(op)
      assert(why === null, `a write kept at a crash no longer applies: ${why}`)
    }
    this.lostWriteCount += lost
    this.queue = []
    this.written.copyFrom(this.durable)
    return lost
  }

  /** What a restarting node reads. */
  load(): PersistentState {
    return this.durable.toPersistentState()
  }

  private push(op: WriteOp): StoreError | null {
    const why = this.written.apply(op)
    if (why !== null) return { kind: 'store_error', message: why }
    this.queue.push(op)
    return null
  }
}
