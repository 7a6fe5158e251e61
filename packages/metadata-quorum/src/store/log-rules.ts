/**
 * The checks every RaftStore makes on what the core hands it, shared so FsRaftStore and
 * MemRaftStore refuse the same programmer errors. A failed check is an AssertionError: the
 * core broke its contract (src/raft/types.ts), and storing it would make the log lie.
 */
import type { Epoch, Offset, RaftEntry } from '../raft/types.js'
import { assert } from '../util/assert.js'

/** Entries must continue the log at logEndOffset without a gap, with epochs that never go
 * down (Raft paper §5.3: a log's epochs are non-decreasing). */
export function assertAppendable(entries: readonly RaftEntry[], logEndOffset: Offset, lastEpoch: Epoch): void {
  let expected = logEndOffset
  let epoch = lastEpoch
  for (const entry of entries) {
    assert(entry.offset === expected, `append of offset ${entry.offset} where the log ends at ${expected}`)
    assert(entry.epoch >= epoch, `append of epoch ${entry.epoch} at offset ${entry.offset} after epoch ${epoch}`)
    epoch = entry.epoch
    expected++
  }
}

/** Truncation may only remove uncommitted entries, which are never below the log start
 * (the snapshot covers committed entries only). At or past the log end it removes nothing,
 * which is legal ("remove every entry with offset >= truncateFrom"), as in the simulator's
 * store. */
export function assertTruncatable(truncateFrom: Offset, logStartOffset: Offset): void {
  assert(Number.isSafeInteger(truncateFrom), `truncateFrom ${truncateFrom} is not an integer`)
  assert(truncateFrom >= logStartOffset, `truncateFrom ${truncateFrom} is below the log start ${logStartOffset}`)
}
