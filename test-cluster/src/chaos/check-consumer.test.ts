import { describe, expect, it } from 'vitest'
import { checkCommits, checkConsumer } from './check-consumer.ts'
import { encodeValue, type CommitObservation, type ConsumedRecord, type HistoryEntry, type ReadBack } from './history.ts'

const commit = (offset: bigint, atMs: number, partition = 0, group = 'g'): CommitObservation => ({ group, topic: 't', partition, offset, atMs })

describe('checkCommits', () => {
  it('accepts offsets that stay or grow, per group and partition', () => {
    const commits = [commit(1n, 1), commit(1n, 2), commit(5n, 3), commit(0n, 4, 1), commit(0n, 5, 0, 'other'), commit(7n, 6)]
    expect(checkCommits(commits)).toEqual({ commitRegressions: 0, violations: [] })
  })

  it('counts each commit below the highest before it, ordered by time', () => {
    const commits = [commit(10n, 1), commit(5n, 2), commit(6n, 3), commit(12n, 4), commit(3n, 0)]
    const result = checkCommits(commits)
    expect(result.commitRegressions).toBe(2)
    expect(result.violations[0].detail).toBe('g/t-0: committed 5 at 2 ms after 10 at 1 ms')
  })
})

describe('checkConsumer', () => {
  const ack = (seq: number, offset: bigint, partition = 0): HistoryEntry => ({ op: { producer: 'p', seq, topic: 't', partition, key: 'k', sentAtMs: seq }, outcome: { kind: 'ack', offset, atMs: seq + 1 } })
  const entries: HistoryEntry[] = [ack(0, 0n), ack(1, 1n), ack(2, 2n), { op: { producer: 'p', seq: 3, topic: 't', partition: 0, key: 'k', sentAtMs: 3 }, outcome: { kind: 'pending' } }]
  const got = (seq: number, offset: bigint, partition = 0): ConsumedRecord => ({ topic: 't', partition, offset, value: encodeValue('p', seq, 10), atMs: 100 + seq })
  const readBack: ReadBack = { topic: 't', partition: 0, records: [], highWatermark: 4n, logStartOffset: 1n }

  it('requires every acknowledged record at least once, counting redeliveries', () => {
    const result = checkConsumer(entries, [got(0, 0n), got(1, 1n), got(2, 2n), got(1, 1n), got(3, 3n)], [], [])
    expect(result.violations).toEqual([])
    expect(result.counts).toEqual({ consumedRecords: 5, consumedDuplicates: 1, consumerMissed: 0, consumerPhantom: 0, consumerInconsistent: 0, commits: 0, commitRegressions: 0 })
  })

  it('counts acknowledged records never delivered, except below the log start', () => {
    expect(checkConsumer(entries, [got(2, 2n)], [], []).counts.consumerMissed).toBe(2)
    expect(checkConsumer(entries, [got(2, 2n)], [], [readBack]).counts.consumerMissed).toBe(1)
  })

  it('flags deliveries of payloads never sent to that partition', () => {
    const foreign: ConsumedRecord = { topic: 't', partition: 0, offset: 9n, value: 'junk', atMs: 1 }
    const result = checkConsumer(entries, [got(0, 0n), got(1, 1n), got(2, 2n), got(1, 1n, 1), foreign], [], [])
    expect(result.counts).toMatchObject({ consumerPhantom: 2, consumerMissed: 0 })
  })

  it('flags deliveries the healed log contradicts, except below its log start', () => {
    const log: ReadBack = { topic: 't', partition: 0, records: [{ offset: 1n, value: encodeValue('p', 1, 10) }, { offset: 2n, value: encodeValue('p', 0, 10) }], highWatermark: 3n, logStartOffset: 1n }
    // p:0 delivered at 0 (below the log start: not judged), p:1 at 1 (agrees), p:2 at 2 (the log has p:0 there), p:3 at 3 (absent).
    const result = checkConsumer(entries, [got(0, 0n), got(1, 1n), got(2, 2n), got(3, 3n)], [], [log])
    expect(result.counts.consumerInconsistent).toBe(2)
    expect(result.violations.filter((v) => v.kind === 'consumer-inconsistent').map((v) => v.detail)).toEqual([
      't-0: p:2 delivered at offset 2, absent from the read-back',
      't-0: p:3 delivered at offset 3, absent from the read-back',
    ])
    const moved = checkConsumer(entries, [got(0, 1n)], [], [{ ...log, logStartOffset: 0n }])
    expect(moved.violations.find((v) => v.kind === 'consumer-inconsistent')?.detail).toBe('t-0: p:0 delivered at offset 1, read back at 2')
  })

  it('includes commit regressions', () => {
    const result = checkConsumer([], [], [commit(3n, 1), commit(2n, 2)], [])
    expect(result.counts.commitRegressions).toBe(1)
    expect(result.violations.map((v) => v.kind)).toEqual(['commit-regression'])
  })
})
