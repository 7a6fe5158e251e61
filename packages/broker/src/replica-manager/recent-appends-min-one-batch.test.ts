/**
 * RecentAppends.read with minOneBatch (KIP-74) answers as PartitionLog.read does: when the
 * first entry does not fit in maxBytes, the first batch alone, not the whole entry (a
 * non-idempotent produce may append several batches in one entry). Review of fd265af: the
 * whole entry went out, past the follower's partition_max_bytes by up to the entry's size.
 */
import { describe, expect, it } from 'vitest'
import { encodeRecordBatch } from '@tributary/protocol'
import { RecentAppends } from './recent-appends.js'

const batch = (baseOffset: bigint, n: number): Buffer =>
  encodeRecordBatch({ baseOffset, partitionLeaderEpoch: 1, records: Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.alloc(40, i), timestamp: 1_000n })) })

describe('RecentAppends minOneBatch', () => {
  it('returns the first batch alone when the first entry (several batches) exceeds maxBytes', () => {
    const p = { isLeader: true, leaderEpoch: 1 }
    const recent = new RecentAppends()
    const first = batch(0n, 2)
    const entry = Buffer.concat([first, batch(2n, 3), batch(5n, 1)])
    recent.add(p, 1, 0n, 5n, entry)
    expect(recent.read(p, 0n, 10, true)).toEqual(first)
    expect(recent.read(p, 0n, 10, false)).toBeNull()
    // Fits: the whole entry, as before.
    expect(recent.read(p, 0n, entry.length, false)).toEqual(entry)
    expect(recent.read(p, 0n, entry.length, true)).toEqual(entry)
  })
})
