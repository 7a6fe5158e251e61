/**
 * RaftStore: where a node keeps its Raft log, hard state and snapshots between restarts.
 *
 * The driver owns exactly one store and calls it one operation at a time (no overlapping
 * calls). The contract mirrors the core's Ready (src/raft/types.ts):
 *   - load() once, before anything else; it runs crash recovery and returns what the core
 *     starts from. Its `entries` start at `snapshot?.id.endOffset ?? 0` and are contiguous.
 *   - persist(ready) applies ready.hardState, then ready.snapshot, then ready.truncateFrom,
 *     then ready.entries, and when ready.mustSync is set, everything is durable when the
 *     promise resolves. Only then may the driver send ready.messages (etcd-raft's "persist
 *     before you send"; Raft paper §5.1: a vote or an acknowledged entry must survive a crash).
 *   - saveSnapshot(snapshot) stores a snapshot the local state machine took at an offset at
 *     or below the high watermark, then bounds the log (Raft paper §7).
 *   - close() releases files. A store whose persist failed is failed for good: after an
 *     fsync error the page cache cannot be trusted, so the node must restart and recover.
 *
 * Implementations: FsRaftStore (node:fs, the real driver), MemRaftStore (driver unit tests);
 * the simulator has its own fake with the same shape.
 */
import type { PersistentState, Ready, Snapshot } from '../raft/types.js'

export interface RaftStore {
  /** Recovery included: cuts a torn tail, refuses corruption that might hide committed data. */
  load(): Promise<PersistentState>
  /**
   * Applies hardState / snapshot / truncateFrom / entries in that order (the hard state
   * first, so a crash part-way never leaves a log epoch above the hard state's). With mustSync, one
   * fdatasync covers the log writes of the whole Ready (group commit); the hard state is
   * replaced atomically. `ready.snapshot` replaces the whole log: afterwards the log starts,
   * empty, at snapshot.id.endOffset.
   */
  persist(ready: Ready): Promise<void>
  /**
   * A snapshot taken by the local state machine at an offset <= the high watermark: written
   * durably, then log entries below snapshot.id.endOffset are dropped and older snapshots
   * beyond the newest two are deleted.
   */
  saveSnapshot(snapshot: Snapshot): Promise<void>
  close(): Promise<void>
}
