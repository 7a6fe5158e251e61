/**
 * MemRaftStore: a RaftStore in memory, for driver unit tests. Every write is "durable" the
 * moment it is made; it keeps the same contract checks as FsRaftStore (contiguous appends,
 * truncation only of the uncommitted suffix, one call at a time) so a driver bug shows up
 * here first. It counts persists and syncs so tests can check the driver's batching.
 * (The simulator has its own disk fake that can lose unsynced writes; this one cannot.)
 */
import type { HardState, Offset, PersistentState, RaftEntry, Ready, Snapshot } from '../raft/types.js'
import { EMPTY_PERSISTENT_STATE } from '../raft/types.js'
import { assert } from '../util/assert.js'
import { assertAppendable, assertTruncatable } from './log-rules.js'
import type { RaftStore } from './raft-store.js'

function copyEntry(entry: RaftEntry): RaftEntry {
  return { ...entry, data: new Uint8Array(entry.data) }
}

function copySnapshot(snapshot: Snapshot): Snapshot {
  return { id: { ...snapshot.id }, data: new Uint8Array(snapshot.data) }
}

export class MemRaftStore implements RaftStore {
  private hardState: HardState
  private snapshot: Snapshot | null
  private entries: RaftEntry[]
  private busy = false
  private closed = false
  /** persist() calls. */
  persistCount = 0
  /** persist() calls with mustSync: each stands for one group fsync. */
  syncCount = 0

  constructor(initial: PersistentState = EMPTY_PERSISTENT_STATE) {
    const start = initial.snapshot?.id.endOffset ?? 0
    assertAppendable(initial.entries, start, initial.snapshot?.id.epoch ?? 0)
    this.hardState = { ...initial.hardState }
    this.snapshot = initial.snapshot === null ? null : copySnapshot(initial.snapshot)
    this.entries = initial.entries.map(copyEntry)
  }

  private get logStartOffset(): Offset {
    return this.snapshot?.id.endOffset ?? 0
  }

  private get logEndOffset(): Offset {
    return this.logStartOffset + this.entries.length
  }

  /** What a restart would recover, without the ceremony of load(). Copies. */
  state(): PersistentState {
    return {
      hardState: { ...this.hardState },
      snapshot: this.snapshot === null ? null : copySnapshot(this.snapshot),
      entries: this.entries.map(copyEntry),
    }
  }

  async load(): Promise<PersistentState> {
    return this.run(() => this.state())
  }

  async persist(ready: Ready): Promise<void> {
    await this.run(() => {
      // Hard state first, as FsRaftStore does (the Ready contract in raft/types.ts).
      if (ready.hardState !== null) this.hardState = { ...ready.hardState }
      if (ready.snapshot !== null) {
        assert(ready.snapshot.id.endOffset >= this.logStartOffset, 'installed snapshot is not older than the current one')
        this.snapshot = copySnapshot(ready.snapshot)
        this.entries = []
      }
      if (ready.truncateFrom !== null) {
        assertTruncatable(ready.truncateFrom, this.logStartOffset)
        this.entries.length = Math.min(this.entries.length, ready.truncateFrom - this.logStartOffset)
      }
      const lastEpoch = this.entries.at(-1)?.epoch ?? this.snapshot?.id.epoch ?? 0
      assertAppendable(ready.entries, this.logEndOffset, lastEpoch)
      for (const e of ready.entries) this.entries.push(copyEntry(e))
      this.persistCount++
      if (ready.mustSync) this.syncCount++
    })
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    await this.run(() => {
      const { endOffset, epoch } = snapshot.id
      if (this.snapshot !== null && endOffset <= this.snapshot.id.endOffset) return
      assert(endOffset >= this.logStartOffset && endOffset <= this.logEndOffset, `snapshot end ${endOffset} outside the log`)
      const last = this.entries[endOffset - 1 - this.logStartOffset]
      assert(last === undefined || last.epoch === epoch, `snapshot epoch ${epoch} but the entry at ${endOffset - 1} has epoch ${last?.epoch}`)
      this.entries = this.entries.slice(endOffset - this.logStartOffset)
      this.snapshot = copySnapshot(snapshot)
    })
  }

  async close(): Promise<void> {
    this.closed = true
  }

  private async run<T>(body: () => T): Promise<T> {
    assert(!this.closed, 'store is closed')
    assert(!this.busy, 'store calls must not overlap: await each one')
    this.busy = true
    try {
      // A turn of the event loop, like real I/O, so a driver that forgets to await shows up.
      await Promise.resolve()
      return body()
    } finally {
      this.busy = false
    }
  }
}
