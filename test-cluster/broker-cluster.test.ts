/**
 * Three real `trib server` processes in combined mode (broker and controller) on loopback,
 * driven through BrokerService with the raw test client:
 *   - a topic with RF 3 is written and read back;
 *   - SIGKILL of a partition's leader, then of a follower, while a producer sends acks=all
 *     one record at a time: every acknowledged record stays readable at its offset, and the
 *     killed node restarts, catches up and rejoins the ISR;
 *   - SIGTERM of the leader (controlled shutdown) while producing: no send fails;
 *   - SIGSTOP of the leader (a hung broker, its connections open): it is fenced, a new leader
 *     takes the writes, and after SIGCONT it rejoins the ISR;
 *   - garbage bytes to every unary BrokerService method get INVALID_ARGUMENT, and a corrupt
 *     batch gets CORRUPT_MESSAGE, while the node keeps serving.
 * The tests run in order on one cluster (each leaves three live, in-sync nodes behind).
 * Assumes `tsc -b` has built packages/cli/dist (npm test does it first).
 */
import * as grpc from '@grpc/grpc-js'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { broker, encodeRecordBatch, ErrorCode } from '@tributary/protocol'
import { BrokerCluster } from './src/broker-cluster.ts'
import { rawUnaryCall, textRecord, type BrokerClient } from './src/broker-client.ts'
import { readLocalPartition } from './src/local-log.ts'
import { SequentialProducer, verifyAcknowledged } from './src/sequential-producer.ts'

/** Acknowledged sends before a fault, and after it from the new leader. */
const ACKS_BEFORE_FAULT = 20
const ACKS_AFTER_FAULT = 20
/** A restarted node must be back in the ISR within this long. */
const REJOIN_TIMEOUT_MS = 30_000
/** broker.session.timeout.ms of the test cluster: shorter than the 9 s default, so the hung-broker case stays quick. */
const SESSION_TIMEOUT_MS = 4000

describe('broker cluster (3 combined processes)', () => {
  let cluster: BrokerCluster
  let client: BrokerClient

  beforeAll(async () => {
    cluster = await BrokerCluster.start({ size: 3, overrides: [`broker.session.timeout.ms=${SESSION_TIMEOUT_MS}`] })
    client = cluster.client()
  })

  afterEach(({ task }) => {
    if (task.result?.state === 'fail') console.error(cluster.dump())
  })

  afterAll(async () => {
    // TRIB_TEST_KEEP_DIRS=1 keeps the nodes' directories (server.log, partition logs) for a post-mortem.
    const keepDirs = process.env.TRIB_TEST_KEEP_DIRS === '1'
    if (keepDirs && cluster !== undefined) console.error(`kept ${cluster.processes.baseDir}`)
    await cluster?.close({ keepDirs })
  })

  it('writes a topic with RF 3 and reads it back through the gRPC API', async () => {
    await cluster.createTopic('orders', { partitions: 2, replicationFactor: 3 })
    const meta = await client.metadata(['orders'])
    expect(meta.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3])
    const topic = meta.topics.find((t) => t.name === 'orders')
    expect(topic?.partitions).toHaveLength(2)
    for (const p of topic?.partitions ?? []) {
      expect(p.replicaNodes.slice().sort()).toEqual([1, 2, 3])
      expect(p.replicaNodes).toContain(p.leaderId)
    }

    for (const partition of [0, 1]) {
      const offsets: bigint[] = []
      for (let batch = 0; batch < 5; batch++) {
        const records = Array.from({ length: 4 }, (_, i) => textRecord(`p${partition}-b${batch}-r${i}`, `k${i}`))
        const ack = await client.produce('orders', partition, records)
        offsets.push(ack.baseOffset)
        expect(ack.errors).toEqual([])
      }
      expect(offsets).toEqual([0n, 4n, 8n, 12n, 16n])
      const read = await client.readRange('orders', partition, 0n)
      expect(read.map((r) => r.value?.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `p${partition}-b${Math.floor(i / 4)}-r${i % 4}`))
      expect(read.map((r) => r.offset)).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i)))
      expect(read[1]?.key?.toString()).toBe('k1')
      expect((await client.listOffsets('orders', partition, -2n)).offset).toBe(0n)
      expect((await client.listOffsets('orders', partition, -1n)).offset).toBe(20n)
      // Every replica is in sync once the leader has heard from both followers.
      await cluster.waitForIsr('orders', partition)
    }
  })

  it('loses no acknowledged record when the partition leader is SIGKILLed mid-stream, and the node rejoins the ISR', async () => {
    await cluster.createTopic('kill-leader', { partitions: 1, replicationFactor: 3 })
    await cluster.waitForIsr('kill-leader', 0)
    const producer = new SequentialProducer(client, 'kill-leader', 0).start()
    try {
      await producer.waitForAcks(ACKS_BEFORE_FAULT)
      const leader = await cluster.leaderOf('kill-leader', 0)
      expect(await cluster.kill(leader, 'SIGKILL')).toBeNull()
      const killedAt = performance.now()
      const next = await producer.waitForAckAfter(killedAt, [leader])
      expect(next.leaderId).not.toBe(leader)
      await producer.waitForAcks(ACKS_AFTER_FAULT)
      await producer.stop()
      expect(producer.failures).toEqual([])
      const { mismatches, checked } = await verifyAcknowledged(client, 'kill-leader', 0, producer.acked)
      expect(mismatches).toEqual([])
      expect(checked).toBe(producer.acked.length)

      await cluster.restart(leader)
      const rejoined = await cluster.waitForIsr('kill-leader', 0, [1, 2, 3], REJOIN_TIMEOUT_MS)
      expect(rejoined.isrNodes.slice().sort()).toEqual([1, 2, 3])
    } finally {
      await producer.stop()
    }
  })

  it('loses no acknowledged record when a follower is SIGKILLed; the restarted follower catches up and holds every acknowledged record', async () => {
    await cluster.createTopic('kill-follower', { partitions: 1, replicationFactor: 3 })
    await cluster.waitForIsr('kill-follower', 0)
    const producer = new SequentialProducer(client, 'kill-follower', 0).start()
    try {
      await producer.waitForAcks(ACKS_BEFORE_FAULT)
      const leader = await cluster.leaderOf('kill-follower', 0)
      const follower = cluster.ids.find((id) => id !== leader)!
      await cluster.kill(follower, 'SIGKILL')
      // The ISR shrinks to the two live replicas (min.insync.replicas 2), and sends go on.
      await cluster.waitForIsr('kill-follower', 0, cluster.ids.filter((id) => id !== follower), REJOIN_TIMEOUT_MS)
      await producer.waitForAcks(ACKS_AFTER_FAULT)
      await cluster.restart(follower)
      await cluster.waitForIsr('kill-follower', 0, [1, 2, 3], REJOIN_TIMEOUT_MS)
      await producer.waitForAcks(5)
      await producer.stop()
      expect(producer.failures).toEqual([])

      // Every acknowledged record is on every ISR member's disk: SIGKILL the restarted
      // follower and read its copy of the partition from its log directory.
      await cluster.kill(follower, 'SIGKILL')
      const onDisk = new Map((await readLocalPartition(cluster.processes.logDir(follower), 'kill-follower', 0)).map((r) => [r.offset, r.value?.toString() ?? null]))
      const missing = producer.acked.filter((a) => onDisk.get(a.offset) !== a.value)
      expect(missing.map((a) => `${a.offset}:${a.value}`)).toEqual([])
      // And through the API from the leader.
      const { mismatches } = await verifyAcknowledged(client, 'kill-follower', 0, producer.acked)
      expect(mismatches).toEqual([])
      await cluster.restart(follower)
      await cluster.waitForIsr('kill-follower', 0, [1, 2, 3], REJOIN_TIMEOUT_MS)
    } finally {
      await producer.stop()
    }
  })

  it('fails no send while the leader is restarted with SIGTERM (controlled shutdown)', async () => {
    await cluster.createTopic('controlled', { partitions: 1, replicationFactor: 3 })
    await cluster.waitForIsr('controlled', 0)
    const producer = new SequentialProducer(client, 'controlled', 0).start()
    try {
      await producer.waitForAcks(ACKS_BEFORE_FAULT)
      const leader = await cluster.leaderOf('controlled', 0)
      const before = client.attempts.length
      expect(await cluster.stop(leader)).toBe(0)
      await producer.waitForAcks(ACKS_AFTER_FAULT)
      await cluster.restart(leader)
      await cluster.waitForIsr('controlled', 0, [1, 2, 3], REJOIN_TIMEOUT_MS)
      await producer.waitForAcks(5)
      await producer.stop()

      const produceErrors = client.attemptsSince(before).filter((a) => a.op === 'produce' && a.outcome !== 'ok')
      const notLeader = produceErrors.filter((a) => a.name === ErrorCode.NOT_LEADER_OR_FOLLOWER.name)
      console.log(`controlled shutdown: ${producer.acked.length} acknowledged, ${producer.failures.length} failed sends, ` +
        `${produceErrors.length} produce error responses (${notLeader.length} NOT_LEADER_OR_FOLLOWER): ${produceErrors.map((a) => a.name).join(', ') || 'none'}`)
      // The target: no failed send. (Error responses that a retry absorbed are reported above.)
      expect(producer.failures).toEqual([])
      // A planned restart moves leadership before the process stops serving, so no call
      // should fail at the transport level.
      expect(produceErrors.filter((a) => a.outcome === 'transport')).toEqual([])
      const { mismatches } = await verifyAcknowledged(client, 'controlled', 0, producer.acked)
      expect(mismatches).toEqual([])
    } finally {
      await producer.stop()
    }
  })

  it('fences a hung (SIGSTOPped) leader: a new leader takes the writes, and after SIGCONT the node rejoins the ISR', async () => {
    await cluster.createTopic('hung', { partitions: 1, replicationFactor: 3 })
    await cluster.waitForIsr('hung', 0)
    const producer = new SequentialProducer(client, 'hung', 0).start()
    try {
      await producer.waitForAcks(ACKS_BEFORE_FAULT)
      const leader = await cluster.leaderOf('hung', 0)
      cluster.pause(leader)
      const pausedAt = performance.now()
      // No connection closes: only the session timeout (or a keepalive that goes unanswered) fences it.
      const next = await producer.waitForAckAfter(pausedAt, [leader], SESSION_TIMEOUT_MS + REJOIN_TIMEOUT_MS)
      expect(next.leaderId).not.toBe(leader)
      await producer.waitForAcks(ACKS_AFTER_FAULT)
      cluster.resume(leader)
      await cluster.waitForIsr('hung', 0, [1, 2, 3], REJOIN_TIMEOUT_MS)
      await producer.waitForAcks(5)
      await producer.stop()
      expect(producer.failures).toEqual([])
      const { mismatches } = await verifyAcknowledged(client, 'hung', 0, producer.acked)
      expect(mismatches).toEqual([])
    } finally {
      await producer.stop()
    }
  })

  it('answers garbage with INVALID_ARGUMENT and a corrupt batch with CORRUPT_MESSAGE, and keeps serving', async () => {
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
    const unary = Object.values(broker.BrokerServiceService).filter((m) => !m.requestStream && !m.responseStream)
    expect(unary.length).toBeGreaterThanOrEqual(9)
    for (const id of cluster.ids) {
      for (const method of unary) {
        const answer = await rawUnaryCall(cluster.brokerAddress(id), method.path, garbage)
        expect({ node: id, method: method.path, answer }).toMatchObject({ answer: { code: grpc.status.INVALID_ARGUMENT } })
      }
    }

    const good = encodeRecordBatch({ records: [textRecord('fine')] })
    const corrupt = Buffer.from(good)
    corrupt[corrupt.length - 1] ^= 0xff // the CRC covers the records: it no longer matches
    const leader = await cluster.leaderOf('orders', 0)
    const answer = await rawUnaryCall(cluster.brokerAddress(leader), broker.BrokerServiceService.produce.path, Buffer.from(broker.ProduceRequest.encode({
      acks: -1, timeoutMs: 1000, transactionalId: '', topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, records: corrupt }] }],
    }).finish()))
    expect('ok' in answer).toBe(true)
    if ('ok' in answer) {
      const res = broker.ProduceResponse.decode(answer.ok)
      expect(res.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE.code)
    }

    // Every node still serves, and the partition still takes writes at the next offset.
    for (const id of cluster.ids) expect(cluster.processes.isRunning(id)).toBe(true)
    await cluster.waitForBrokers()
    const ack = await client.produce('orders', 0, [textRecord('after-garbage')])
    expect(ack.baseOffset).toBe(20n)
    // The earlier restarts may still be moving leadership back to preferred replicas
    // (auto.leader.rebalance.enable), which costs a client with a cached leader one retried
    // NOT_LEADER_OR_FOLLOWER; anything else (a transport failure above all) means a node broke.
    expect(ack.errors.filter((e) => !(e.outcome === 'error_code' && e.name === 'NOT_LEADER_OR_FOLLOWER'))).toEqual([])
  })
})
