/**
 * The log cleaner on __consumer_offsets, end to end in three combined nodes (real gRPC): a
 * group commits many times into tiny segments, the cleaner rounds shrink every replica's log,
 * OffsetFetch still answers the latest offsets, and so does the next coordinator after a
 * failover, which loads the group from its own compacted log.
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { broker, controller, ErrorCode } from '@tributary/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { OFFSETS_TOPIC } from '../../group/group-coordinator.js'
import { startInProcessCluster, type InProcessCluster } from '../../node/in-process-cluster.js'
import { brokerClients, call, until } from '../../node/test-broker-rpc.js'

const RETRIABLE = new Set([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS.code, ErrorCode.COORDINATOR_NOT_AVAILABLE.code, ErrorCode.NOT_COORDINATOR.code])
const COMMITS = 300

async function logBytes(dir: string): Promise<number> {
  let total = 0
  for (const name of await readdir(dir)) if (name.endsWith('.log')) total += (await stat(join(dir, name))).size
  return total
}

describe('log cleaner on __consumer_offsets (3 combined nodes)', () => {
  const { client, closeAll } = brokerClients()
  let cluster: InProcessCluster | null = null

  afterEach(async () => {
    closeAll()
    await cluster?.close()
    cluster = null
  })

  it('shrinks every replica of a group’s offsets partition and keeps the latest commit, across a coordinator failover', async () => {
    cluster = await startInProcessCluster(3, {
      dirPrefix: 'trib-compact-',
      configure: (config) => ({ ...config, broker: { ...config.broker!, offsetsTopicPartitions: 1, replica: { ...config.broker!.replica, logCleanerBackoffMs: 100 } } }),
    })
    const nodes = cluster.nodes
    const ports = new Map([...nodes].map(([id, n]) => [id, n.broker!.port]))
    const node1 = client(ports.get(1)!)
    await until(async () => {
      const r = await call(node1.createTopics, node1, { topics: [{ name: 'events', numPartitions: 1, replicationFactor: 3, configs: {} }], validateOnly: false })
      return r.topics[0]?.errorCode === 0 ? r : null
    }, 'CreateTopics')
    const found = await until(async () => {
      const r = await call(node1.findCoordinator, node1, { key: 'g1', keyType: 0 })
      if (r.errorCode !== 0) expect(RETRIABLE.has(r.errorCode)).toBe(true)
      return r.errorCode === 0 ? r : null
    }, 'FindCoordinator')
    const alter = async (ops: controller.AlterConfigsOp[]): Promise<void> => {
      const r = await call(node1.alterConfigs, node1, { resources: [{ topic: OFFSETS_TOPIC, ops }], validateOnly: false })
      expect(r.errorCode).toBe(0)
      expect(r.results[0]!.errorCode).toBe(0)
    }
    // Tiny segments; the cleaner holds off (KIP-58 lag) until every commit is written.
    await alter([
      { name: 'segment.bytes', op: controller.AlterConfigsOp_OpType.SET, value: '1024' },
      { name: 'min.compaction.lag.ms', op: controller.AlterConfigsOp_OpType.SET, value: '3600000' },
    ])
    await new Promise((r) => setTimeout(r, 300)) // brokers apply the image on their own schedule

    const coordinator = client(found.port)
    const member = await until(async () => {
      const res = await call(coordinator.consumerGroupHeartbeat, coordinator, {
        groupId: 'g1', memberId: 'member-a', memberEpoch: 0, rackId: '', rebalanceTimeoutMs: 10_000, subscribedTopicNames: ['events'], serverAssignor: '', topicPartitions: [],
      })
      return RETRIABLE.has(res.errorCode) ? null : res
    }, 'a heartbeat')
    expect(member.errorCode).toBe(0)
    for (let i = 1; i <= COMMITS; i++) {
      const committed = await call(coordinator.offsetCommit, coordinator, {
        groupId: 'g1', generationIdOrMemberEpoch: member.memberEpoch, memberId: 'member-a',
        topics: [{ name: 'events', partitions: [{ partitionIndex: 0, committedOffset: BigInt(i), committedLeaderEpoch: -1, committedMetadata: `m${i}` }] }],
      })
      expect(committed.topics[0]!.partitions[0]!.errorCode).toBe(0)
    }
    const dirs = [...nodes.keys()].map((id) => join(cluster!.dir, `node-${id}`, `${OFFSETS_TOPIC}-0`))
    // Every replica holds every commit (acks=all put them in the ISR; followers catch up).
    const before = await until(async () => {
      const sizes = await Promise.all(dirs.map(logBytes))
      return sizes.every((s) => s > 40 * 1024 - 1) ? sizes : null
    }, 'every replica holding the commits')
    const segmentsBefore = (await readdir(dirs[0]!)).filter((n) => n.endsWith('.log')).length
    expect(segmentsBefore).toBeGreaterThan(10)

    await alter([{ name: 'min.compaction.lag.ms', op: controller.AlterConfigsOp_OpType.SET, value: '0' }])
    const after = await until(async () => {
      const sizes = await Promise.all(dirs.map(logBytes))
      return sizes.every((s, i) => s * 4 < before[i]!) ? sizes : null
    }, 'every replica cleaned', 30_000)
    // Settled: two readings 300 ms apart agree (the figure for the record, not an assertion on time).
    let settled = after
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 300))
      const now = await Promise.all(dirs.map(logBytes))
      if (now.every((s, j) => s === settled[j])) break
      settled = now
    }
    console.info(`__consumer_offsets-0 after ${COMMITS} commits in ${segmentsBefore} segments: ${before.join('/')} bytes -> ${settled.join('/')} bytes (per replica)`)

    const fetchRequest: broker.OffsetFetchRequest = { groupId: 'g1', topics: [{ name: 'events', partitionIndexes: [0] }], allTopics: false, memberId: '', memberEpoch: -1 }
    const fetched = await call(coordinator.offsetFetch, coordinator, fetchRequest)
    expect(fetched.topics[0]!.partitions[0]).toMatchObject({ committedOffset: BigInt(COMMITS), metadata: `m${COMMITS}`, errorCode: 0 })

    // Failover: the next coordinator loads the group from its own compacted replica.
    await nodes.get(found.nodeId)!.close()
    nodes.delete(found.nodeId)
    const other = [...ports].find(([id]) => id !== found.nodeId)!
    const survivor = client(other[1])
    const reloaded = await until(async () => {
      const f = await call(survivor.findCoordinator, survivor, { key: 'g1', keyType: 0 })
      if (f.errorCode !== 0 || f.nodeId === found.nodeId) return null
      const c = client(f.port)
      const r = await call(c.offsetFetch, c, fetchRequest)
      return r.errorCode === 0 && r.topics[0]?.partitions[0]?.errorCode === 0 ? r : null
    }, 'the new coordinator', 20_000)
    expect(reloaded.topics[0]!.partitions[0]).toMatchObject({ committedOffset: BigInt(COMMITS), metadata: `m${COMMITS}` })
  }, 60_000)
})
