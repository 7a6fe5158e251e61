import { describe, expect, it } from 'vitest'
import { SeededRandom } from '@tributary/metadata-quorum'
import { encodeRecordBatch, readBatchHeader } from '@tributary/protocol'
import { SimPartitionLog } from './sim-partition-log.js'

function producerBatch(records = 1, tag = 'x'): Buffer {
  return encodeRecordBatch({ records: Array.from({ length: records }, (_, i) => ({ key: null, value: Buffer.from(`${tag}${i}`), timestamp: 0n })) })
}

/** Everything random() draws is below `p`: every unsynced batch survives a crash with p = 1. */
const always = { next: () => 0 }

describe('SimPartitionLog', () => {
  it('stamps leader appends with contiguous offsets and the leader epoch, leaving the records as the producer sent them', () => {
    const log = new SimPartitionLog()
    log.assignEpochStartOffset(3)
    const producer = producerBatch(2)
    const a = log.appendAsLeader(producer, 3)
    const b = log.appendAsLeader(producerBatch(1), 3)
    expect([a.baseOffset, a.lastOffset, b.baseOffset, b.lastOffset]).toEqual([0n, 1n, 2n, 2n])
    const header = readBatchHeader(a.bytes)
    expect([header.baseOffset, header.partitionLeaderEpoch]).toEqual([0n, 3])
    expect(a.bytes.subarray(16)).toEqual(producer.subarray(16))
    expect(readBatchHeader(producer).partitionLeaderEpoch).toBe(-1) // the producer's copy is untouched
    expect(log.logEndOffset).toBe(3n)
  })

  it('makes a prefix durable per completed flush, covering only what was appended before it started', () => {
    const log = new SimPartitionLog()
    log.assignEpochStartOffset(0)
    log.appendAsLeader(producerBatch(), 0)
    const token = log.startFlush()
    log.appendAsLeader(producerBatch(), 0)
    expect(log.durableEndOffset).toBe(0n)
    expect(log.completeFlush(token, false)).toBe(1n)
    expect([log.durableEndOffset, log.flushedEndOffset, log.hasUnflushed]).toEqual([1n, 1n, true])
    expect(log.isDurable(0n)).toBe(true)
    expect(log.isDurable(1n)).toBe(false)
  })

  it('a lying fsync moves what the broker believes, not what the disk holds', () => {
    const log = new SimPartitionLog()
    log.assignEpochStartOffset(0)
    log.appendAsLeader(producerBatch(), 0)
    log.completeFlush(log.startFlush(), true)
    expect([log.flushedEndOffset, log.durableEndOffset]).toEqual([1n, 0n])
    expect(log.crash(new SeededRandom(1), 0)).toBe(1)
    expect(log.logEndOffset).toBe(0n)
  })

  it('a crash keeps the durable prefix and, in order, the unsynced batches that happened to reach the disk', () => {
    const make = (): SimPartitionLog => {
      const log = new SimPartitionLog()
      log.assignEpochStartOffset(0)
      log.appendAsLeader(producerBatch(), 0)
      log.completeFlush(log.startFlush(), false)
      log.appendAsLeader(producerBatch(), 0)
      log.appendAsLeader(producerBatch(), 0)
      return log
    }
    const none = make()
    expect(none.crash(new SeededRandom(7), 0)).toBe(2)
    expect(none.logEndOffset).toBe(1n)
    const all = make()
    expect(all.crash(always, 1)).toBe(0)
    expect([all.logEndOffset, all.durableEndOffset, all.flushedEndOffset]).toEqual([3n, 3n, 3n])
  })

  it('recovers the epoch cache after a crash: entries past the log end go, surviving batches add theirs', () => {
    const log = new SimPartitionLog()
    log.assignEpochStartOffset(1)
    log.appendAsLeader(producerBatch(), 1)
    log.completeFlush(log.startFlush(), false)
    // Became leader of epoch 4 and wrote nothing durable in it.
    log.assignEpochStartOffset(4)
    log.appendAsLeader(producerBatch(), 4)
    log.crash(new SeededRandom(1), 0)
    expect(log.epochEntries()).toEqual([{ epoch: 1, startOffset: 0n }])
    expect(log.latestEpoch()).toBe(1)
  })

  it('truncation cuts whole batches, trims the epoch cache even when nothing is cut, and caps flushes in flight', () => {
    const log = new SimPartitionLog()
    log.assignEpochStartOffset(0)
    log.appendAsLeader(producerBatch(2), 0) // 0..1
    log.appendAsLeader(producerBatch(), 0) // 2
    const token = log.startFlush()
    expect(log.truncateTo(1n)).toBe(0n) // the batch holding offset 1 goes whole
    log.assignEpochStartOffset(2)
    log.appendAsLeader(producerBatch(), 2) // 0, appended after the flush started
    log.completeFlush(token, false)
    expect([log.durableEndOffset, log.flushedEndOffset]).toEqual([0n, 0n])
    // An epoch led without writing sits at the log end; truncating to the end drops it (Kafka's truncateTo).
    log.assignEpochStartOffset(5)
    expect(log.latestEpoch()).toBe(5)
    expect(log.truncateTo(log.logEndOffset)).toBe(1n)
    expect(log.latestEpoch()).toBe(2)
  })

  it('refuses follower batches that do not continue the log (offset gap, older epoch), as PartitionLog does', () => {
    const leader = new SimPartitionLog()
    leader.assignEpochStartOffset(2)
    const b0 = leader.appendAsLeader(producerBatch(), 2)
    const b1 = leader.appendAsLeader(producerBatch(), 2)
    const follower = new SimPartitionLog()
    expect(follower.appendAsFollower([b1])).toMatchObject({ kind: 'offset_mismatch', expectedOffset: 0n, actualOffset: 1n })
    expect(follower.appendAsFollower([b0, b1])).toEqual({ kind: 'appended', logEndOffset: 2n })
    expect(follower.epochEntries()).toEqual([{ epoch: 2, startOffset: 0n }])
    const newer = new SimPartitionLog()
    newer.assignEpochStartOffset(5)
    expect(newer.appendAsFollower([b0])).toMatchObject({ kind: 'epoch_below_latest', batchEpoch: 2, latestEpoch: 5 })
  })

  it('reads whole batches from the one holding the offset, below a bound when given', () => {
    const log = new SimPartitionLog()
    log.assignEpochStartOffset(0)
    log.appendAsLeader(producerBatch(3), 0) // 0..2
    log.appendAsLeader(producerBatch(), 0) // 3
    log.appendAsLeader(producerBatch(), 0) // 4
    expect(log.read(1n, 10).map((b) => b.baseOffset)).toEqual([0n, 3n, 4n])
    expect(log.read(0n, 2).map((b) => b.baseOffset)).toEqual([0n, 3n])
    expect(log.read(0n, 10, 4n).map((b) => b.baseOffset)).toEqual([0n, 3n])
    expect(log.read(5n, 10)).toEqual([])
    expect(readBatchHeader(log.read(4n, 1)[0].bytes).baseOffset).toBe(4n)
  })
})
