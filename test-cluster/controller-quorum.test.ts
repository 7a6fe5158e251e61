/**
 * Three real `trib server` controller processes on loopback: a leader is elected, a topic
 * is created (RF 3, on three fake brokers), the leader is SIGKILLed, a new leader takes over
 * with the earlier topic intact and commits a new write, and the killed node comes back and
 * catches up. Assumes `tsc -b` has built packages/cli/dist (npm test does it first).
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode } from '@tributary/protocol'
import { ControllerCluster, TRIB_BIN, nodeBinary, waitFor, type LeaderInfo } from './src/controller-cluster.js'

const BROKERS = [101, 102, 103]

describe('controller quorum (3 processes)', () => {
  let cluster: ControllerCluster
  let firstLeader: LeaderInfo

  beforeAll(async () => {
    // Fake brokers do not keep heartbeating: keep their sessions alive for the whole test.
    cluster = await ControllerCluster.start({ size: 3, overrides: ['broker.session.timeout.ms=600000'] })
  })

  afterEach(({ task }) => {
    if (task.result?.state === 'fail') console.error(cluster.dump())
  })

  afterAll(async () => {
    await cluster.close()
  })

  it('elects one leader that every node reports', async () => {
    firstLeader = await cluster.waitForLeader()
    expect(cluster.ids).toContain(firstLeader.leaderId)
    expect(firstLeader.quorum.voters.map((v) => v.replicaId).sort()).toEqual([1, 2, 3])
    // A voter learns the leader from BeginQuorumEpoch or its first fetch: wait for each.
    for (const id of cluster.ids) {
      const q = await waitFor(async () => {
        const answer = await cluster.client(id).describeQuorum()
        return answer.errorCode === 0 ? answer : null
      }, `node ${id} to know the leader`)
      expect(q).toMatchObject({ leaderId: firstLeader.leaderId, leaderEpoch: firstLeader.epoch })
    }
  })

  it('prints Kafka\'s describe --status layout through the trib bin', async () => {
    const { stdout } = await promisify(execFile)(nodeBinary(), [TRIB_BIN, 'metadata-quorum', '--bootstrap-controller', cluster.address(1), 'describe', '--status'])
    const lines = stdout.trimEnd().split('\n')
    expect(lines.map((l) => l.split(':')[0])).toEqual(['ClusterId', 'LeaderId', 'LeaderEpoch', 'HighWatermark', 'MaxFollowerLag', 'MaxFollowerLagTimeMs', 'CurrentVoters', 'CurrentObservers'])
    expect(lines[1]).toBe(`LeaderId:               ${firstLeader.leaderId}`)
    expect(lines[6]).toBe('CurrentVoters:          [1,2,3]')
  })

  it('registers three brokers and creates a topic with replication factor 3', async () => {
    for (const brokerId of BROKERS) {
      const registered = await cluster.onController(
        (c) => c.registerBroker({ brokerId, incarnationId: `incarnation-${brokerId}`, endpoints: [{ name: 'PLAINTEXT', host: 'localhost', port: 9000 + brokerId }], rack: '' }),
        `broker ${brokerId} registered`,
      )
      expect(registered.errorCode).toBe(0)
      const beat = await cluster.onController(
        (c) => c.brokerHeartbeat({ brokerId, brokerEpoch: registered.brokerEpoch, currentMetadataOffset: registered.brokerEpoch, wantFence: false, wantShutdown: false }),
        `broker ${brokerId} unfenced`,
      )
      expect(beat).toMatchObject({ errorCode: 0, isFenced: false })
    }
    const created = await cluster.onController(
      (c) => c.createTopics({ topics: [{ name: 'orders', numPartitions: 3, replicationFactor: 3, configs: {} }], validateOnly: false }),
      'orders created',
    )
    expect(created.topics).toMatchObject([{ name: 'orders', errorCode: 0, numPartitions: 3, replicationFactor: 3 }])
  })

  it('survives a SIGKILL of the leader: a new leader keeps the topic and commits a new write', async () => {
    const killed = firstLeader.leaderId
    expect(await cluster.kill(killed, 'SIGKILL')).toBeNull()
    const next = await cluster.waitForLeader({ exclude: [killed], minEpoch: firstLeader.epoch + 1 })
    expect(next.leaderId).not.toBe(killed)
    expect(next.epoch).toBeGreaterThan(firstLeader.epoch)

    const created = await cluster.onController(
      (c) => c.createTopics({ topics: [{ name: 'payments', numPartitions: 1, replicationFactor: 3, configs: {} }], validateOnly: false }),
      'payments created on the new leader',
    )
    expect(created.topics).toMatchObject([{ name: 'payments', errorCode: 0 }])
    expect(created.controllerId).toBe(next.leaderId)

    const again = await cluster.onController(
      (c) => c.createTopics({ topics: [{ name: 'orders', numPartitions: 3, replicationFactor: 3, configs: {} }], validateOnly: false }),
      'orders re-created',
    )
    expect(again.topics[0]?.errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS.code)

    const md = await cluster.client(next.leaderId).describeMetadata({ topics: [] })
    expect(md.topics.map((t) => t.name)).toEqual(['orders', 'payments'])
    const orders = md.topics.find((t) => t.name === 'orders')!
    expect(orders.partitions).toHaveLength(3)
    for (const p of orders.partitions) expect([...p.replicas].sort()).toEqual(BROKERS)
  })

  it('brings the killed node back and it catches up', async () => {
    const killed = firstLeader.leaderId
    await cluster.restart(killed)
    const caughtUp = await waitFor(async () => {
      const md = await cluster.client(killed).describeMetadata({ topics: [] })
      return md.topics.map((t) => t.name).join(',') === 'orders,payments' ? md : null
    }, `node ${killed} to replay both topics`)
    expect(caughtUp.brokers.map((b) => b.brokerId)).toEqual(BROKERS)

    // The leader sees it fetching at its log end.
    await waitFor(async () => {
      const leader = await cluster.waitForLeader()
      const self = leader.quorum.voters.find((v) => v.replicaId === leader.leaderId)!
      const back = leader.quorum.voters.find((v) => v.replicaId === killed)!
      return back.logEndOffset === self.logEndOffset && back.lastFetchTimestamp > 0n ? true : null
    }, `the leader to see node ${killed} caught up`)
  })

  it('shuts a node down cleanly on SIGTERM (exit code 0)', async () => {
    const leader = await cluster.waitForLeader()
    expect(await cluster.stop(leader.leaderId)).toBe(0)
    const next = await cluster.waitForLeader({ exclude: [leader.leaderId], minEpoch: leader.epoch + 1 })
    expect(next.leaderId).not.toBe(leader.leaderId)
  })
})
