import { describe, expect, it } from 'vitest'
import { MetadataImage, type PartitionRegistration, type TopicImage } from '@tributary/metadata-quorum'
import { encodeRecordBatch, type NodeId, type TopicId } from '@tributary/protocol'
import { ReplicationChecker } from './replication-checker.js'
import { partitionKey } from './sim-messages.js'
import { SimPartitionLog } from './sim-partition-log.js'

const TOPIC = 'topic00000000000000001' as TopicId
const P = partitionKey({ topicId: TOPIC, partitionId: 0 })
const n = (i: number): NodeId => i as NodeId

function batch(tag: string): Buffer {
  return encodeRecordBatch({ records: [{ key: null, value: Buffer.from(tag), timestamp: 0n }] })
}

/** A stand-in image with one partition: the checker reads only `offset` and `topicsById`. */
function image(offset: number, p: { leader: number; leaderEpoch: number; isr: number[]; partitionEpoch?: number }): MetadataImage {
  const registration: PartitionRegistration = {
    partitionId: 0,
    replicas: [n(1), n(2), n(3)],
    isr: p.isr.map(n),
    leader: n(p.leader),
    leaderEpoch: p.leaderEpoch,
    partitionEpoch: p.partitionEpoch ?? offset,
  }
  const topic: TopicImage = { name: 't', topicId: TOPIC, partitions: new Map([[0, registration]]) }
  return { offset, topicsById: new Map([[TOPIC, topic]]) } as unknown as MetadataImage
}

function setup() {
  const disks = new Map<NodeId, SimPartitionLog>([[n(1), new SimPartitionLog()], [n(2), new SimPartitionLog()], [n(3), new SimPartitionLog()]])
  const checker = new ReplicationChecker('fsync', { log: (id, partition) => (partition === P ? disks.get(id) : undefined) })
  const log = (i: number): SimPartitionLog => disks.get(n(i)) as SimPartitionLog
  return { checker, log }
}

describe('ReplicationChecker', () => {
  it('flags a leader outside the ISR in any image', () => {
    const { checker } = setup()
    checker.observeImage(n(101), image(5, { leader: 1, leaderEpoch: 0, isr: [1, 2, 3] }), 0)
    expect(checker.ok).toBe(true)
    checker.observeImage(n(101), image(6, { leader: 1, leaderEpoch: 0, isr: [2, 3] }), 1)
    expect(checker.violation?.invariant).toBe('leader_in_isr')
  })

  it('flags two leaders for one epoch, and a broker leading an epoch the metadata gave someone else', () => {
    const a = setup()
    a.checker.observeImage(n(101), image(5, { leader: 1, leaderEpoch: 3, isr: [1, 2] }), 0)
    a.checker.becameLeader(n(1), P, 3, 0)
    expect(a.checker.ok).toBe(true)
    a.checker.becameLeader(n(2), P, 3, 1)
    expect(a.checker.violation?.invariant).toBe('single_leader_per_epoch')
    const b = setup()
    b.checker.observeImage(n(101), image(5, { leader: 1, leaderEpoch: 3, isr: [1, 2] }), 0)
    b.checker.observeImage(n(2), image(5, { leader: 2, leaderEpoch: 3, isr: [1, 2] }), 0)
    expect(b.checker.violation?.invariant).toBe('single_leader_per_epoch')
  })

  it('flags an HW that goes back within one incarnation, but not a restart that starts lower', () => {
    const { checker, log } = setup()
    log(1).assignEpochStartOffset(0)
    log(1).appendAsLeader(batch('a'), 0)
    log(1).appendAsLeader(batch('b'), 0)
    checker.observeReplica(n(1), 1, P, 2n, log(1), 0)
    checker.replicaStarted(n(1), 2, P, 1n, log(1), 1)
    checker.observeReplica(n(1), 2, P, 1n, log(1), 1)
    expect(checker.ok).toBe(true)
    checker.observeReplica(n(1), 2, P, 0n, log(1), 2)
    expect(checker.violation?.invariant).toBe('hw_monotonic')
  })

  it('flags replicas that disagree below their HWs, byte for byte', () => {
    const { checker, log } = setup()
    for (const [i, tag] of [[1, 'same'], [2, 'same'], [3, 'other']] as const) {
      log(i).assignEpochStartOffset(0)
      log(i).appendAsLeader(batch(tag), 0)
    }
    checker.observeReplica(n(1), 1, P, 1n, log(1), 0)
    checker.observeReplica(n(2), 1, P, 1n, log(2), 0)
    expect(checker.ok).toBe(true)
    expect(checker.committedEnd(P)).toBe(1n)
    checker.observeReplica(n(3), 1, P, 1n, log(3), 0)
    expect(checker.violation?.invariant).toBe('replicas_agree')
  })

  it('flags a truncation below the replica\'s own HW', () => {
    const { checker } = setup()
    checker.truncated(n(2), P, 3n, 5n, 0)
    expect(checker.violation?.invariant).toBe('no_truncation_below_hw')
  })

  it('at an acknowledgement, wants the batch durable on every maximal and committed ISR member', () => {
    const { checker, log } = setup()
    checker.observeImage(n(101), image(5, { leader: 1, leaderEpoch: 0, isr: [1, 2] }), 0)
    const producer = batch('acked')
    log(1).assignEpochStartOffset(0)
    const stored = log(1).appendAsLeader(producer, 0)
    log(2).appendAsFollower([stored])
    log(1).completeFlush(log(1).startFlush(), false)
    // Member 2 holds it, but has not flushed it.
    checker.acknowledged(n(1), P, 0, stored, producer, [n(1), n(2)], 0)
    expect(checker.violation?.message).toContain('member 2 has not made it durable')
  })

  it('keeps every ISR member to every acknowledged batch: on an ack, when a replica joins the ISR, after a crash', () => {
    const { checker, log } = setup()
    checker.observeImage(n(101), image(5, { leader: 1, leaderEpoch: 0, isr: [1, 2] }), 0)
    const producer = batch('acked')
    log(1).assignEpochStartOffset(0)
    const stored = log(1).appendAsLeader(producer, 0)
    log(2).appendAsFollower([stored])
    for (const i of [1, 2]) log(i).completeFlush(log(i).startFlush(), false)
    checker.acknowledged(n(1), P, 0, stored, producer, [n(1), n(2)], 0)
    expect(checker.ok).toBe(true)
    checker.brokerCrashed(n(2), new Map([[P, { endBefore: 1n }]]), 1)
    expect(checker.ok).toBe(true)
    // Replica 3 never fetched the batch: the controller must not have let it join.
    checker.observeImage(n(101), image(6, { leader: 1, leaderEpoch: 0, isr: [1, 2, 3] }), 2)
    expect(checker.violation?.invariant).toBe('acked_on_isr')
    expect(checker.violation?.message).toContain('ISR member 3 joined the ISR')
  })

  it('after healing, wants every acknowledged batch readable and on every replica', () => {
    const { checker, log } = setup()
    checker.observeImage(n(101), image(5, { leader: 1, leaderEpoch: 0, isr: [1, 2] }), 0)
    const producer = batch('acked')
    log(1).assignEpochStartOffset(0)
    const stored = log(1).appendAsLeader(producer, 0)
    log(2).appendAsFollower([stored])
    for (const i of [1, 2]) log(i).completeFlush(log(i).startFlush(), false)
    checker.acknowledged(n(1), P, 0, stored, producer, [n(1), n(2)], 0)
    checker.checkAckedEverywhere(P, [n(1), n(2)], [stored], 1)
    expect(checker.ok).toBe(true)
    checker.checkAckedEverywhere(P, [n(1), n(2), n(3)], [stored], 2)
    expect(checker.violation?.invariant).toBe('acked_readable')
  })
})
