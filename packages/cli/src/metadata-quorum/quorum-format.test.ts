import { describe, expect, it } from 'vitest'
import type { quorum } from '@tributary/protocol'
import { formatReplication, formatStatus, prettyPrintTable } from './quorum-format.js'

const replica = (replicaId: number, logEndOffset: number, lastFetch: number, lastCaughtUp: number): quorum.ReplicaState => ({
  replicaId, logEndOffset: BigInt(logEndOffset), lastFetchTimestamp: BigInt(lastFetch), lastCaughtUpTimestamp: BigInt(lastCaughtUp),
})

const q: quorum.DescribeQuorumResponse = {
  errorCode: 0,
  leaderId: 2,
  leaderEpoch: 7,
  highWatermark: 118n,
  voters: [replica(1, 110, 1_700_000_000_900, 1_700_000_000_500), replica(2, 120, 1_700_000_001_000, 1_700_000_001_000), replica(3, 120, 1_700_000_000_990, 1_700_000_000_990)],
  observers: [replica(101, 90, 1_700_000_000_800, -1)],
  clusterId: 'kxNVuAfvyP7eJHZdXbQHyQ',
}

describe('formatStatus', () => {
  it('prints kafka-metadata-quorum.sh describe --status, line for line', () => {
    expect(formatStatus(q)).toBe(
      [
        'ClusterId:              kxNVuAfvyP7eJHZdXbQHyQ',
        'LeaderId:               2',
        'LeaderEpoch:            7',
        'HighWatermark:          118',
        'MaxFollowerLag:         10',
        'MaxFollowerLagTimeMs:   500',
        'CurrentVoters:          [1,2,3]',
        'CurrentObservers:       [101]',
      ].join('\n'),
    )
  })

  it('prints - when the quorum reports no cluster id', () => {
    expect(formatStatus({ ...q, clusterId: '' }).split('\n')[0]).toBe('ClusterId:              -')
  })

  it('reports lag 0 and lag time 0 when every voter is caught up (the leader is the minimum)', () => {
    const caughtUp = { ...q, voters: [replica(2, 5, 10, 10), replica(1, 5, 9, 9)], observers: [] }
    expect(formatStatus(caughtUp)).toContain('MaxFollowerLag:         0\nMaxFollowerLagTimeMs:   0\n')
  })

  it('reports lag time -1 when the lagging follower never caught up', () => {
    const never = { ...q, voters: [replica(2, 5, 10, 10), replica(1, 0, -1, -1)] }
    expect(formatStatus(never)).toContain('MaxFollowerLag:         5\nMaxFollowerLagTimeMs:   -1\n')
  })

  it('refuses an answer whose leader is not a voter', () => {
    expect(() => formatStatus({ ...q, leaderId: 9 })).toThrow(/leader 9/)
  })
})

describe('formatReplication', () => {
  it('prints the leader, then followers, then observers, in Kafka\'s padded, tab-terminated table', () => {
    const lines = formatReplication(q).split('\n')
    expect(lines).toEqual([
      'NodeId\tLogEndOffset\tLag\tLastFetchTimestamp\tLastCaughtUpTimestamp\tStatus  \t',
      '2     \t120         \t0  \t1700000001000     \t1700000001000        \tLeader  \t',
      '1     \t110         \t10 \t1700000000900     \t1700000000500        \tFollower\t',
      '3     \t120         \t0  \t1700000000990     \t1700000000990        \tFollower\t',
      '101   \t90          \t30 \t1700000000800     \t-1                   \tObserver\t',
    ])
  })

  it('prints times as "N ms ago" with --human-readable', () => {
    const out = formatReplication(q, { humanReadable: true, nowMs: 1_700_000_001_100 })
    expect(out.split('\n')[1]).toContain('100 ms ago')
    expect(out.split('\n')[4]).toContain('-1')
  })
})

describe('prettyPrintTable', () => {
  it('pads each column to its widest cell and ends every cell with a tab', () => {
    expect(prettyPrintTable(['a', 'bb'], [['ccc', 'd']])).toBe('a  \tbb\t\nccc\td \t')
  })
})
