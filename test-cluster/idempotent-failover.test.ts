/**
 * Idempotence under failover (issue 4's figure): three real `trib server` processes in
 * combined mode; an idempotent `@tributary/client` producer (acks all) streams numbered
 * records to one partition of an RF 3 topic with many sends in flight. The partition's
 * leader is SIGKILLed mid-stream (batches in flight to it are lost or answered by nobody),
 * a new leader takes over, and the killed node is restarted. Afterwards the partition holds
 * every acknowledged record exactly once, at the offset send() resolved to, in send order,
 * with no gap among the acknowledged numbers and no duplicate at all: the retried batches
 * were deduplicated by the new leader, whose producer state came from the replicated log.
 * A second case checks recovery after a batch fails for good (KIP-360) against the real
 * broker: with min.insync.replicas 3 and a follower down, a batch is refused until its
 * delivery timeout; once the follower is back, later batches are written (the producer took a
 * fresh producer id) instead of being refused OUT_OF_ORDER_SEQUENCE_NUMBER.
 * Assumes `tsc -b` has built packages/cli/dist (npm test does it first).
 */
import { performance } from 'node:perf_hooks'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode } from '@tributary/protocol'
import { Client } from '@tributary/client'
import { BrokerCluster } from './src/broker-cluster.ts'
import { checkNumberedLog, NumberedStream } from './src/numbered-stream.ts'

const TOPIC = 'idempotent-failover'
/** Acknowledged records before the kill, then after it (from the new leader), then after the restart. */
const ACKED_BEFORE_KILL = 1500
const ACKED_AFTER_KILL = 1500
const ACKED_AFTER_RESTART = 500
/** broker.session.timeout.ms: a SIGKILLed leader is fenced (and replaced) this long after its last heartbeat. */
const SESSION_TIMEOUT_MS = 3000
const FAILOVER_TIMEOUT_MS = 15_000
const STRICT_TOPIC = 'idempotent-recovery'
/** The recovery case's delivery timeout: the refused batch fails for good after this long. */
const DOOMED_DELIVERY_TIMEOUT_MS = 1500

describe('idempotent producer under leader failover (3 combined processes)', () => {
  let cluster: BrokerCluster
  let client: Client

  beforeAll(async () => {
    cluster = await BrokerCluster.start({ size: 3, overrides: [`broker.session.timeout.ms=${SESSION_TIMEOUT_MS}`] })
    client = new Client({ bootstrap: cluster.bootstrap(), clientId: 'idempotent-failover' })
  })

  afterEach(({ task }) => {
    if (task.result?.state === 'fail') console.error(cluster.dump())
  })

  afterAll(async () => {
    await client?.close()
    await cluster?.close()
  })

  it('keeps every acknowledged record exactly once, in send order, when the leader is SIGKILLed mid-stream', async () => {
    await cluster.createTopic(TOPIC, { partitions: 1, replicationFactor: 3 })
    await cluster.waitForIsr(TOPIC, 0)
    // Small batches, so several are in flight (up to 5 per partition) when the leader dies.
    const producer = client.producer({ acks: 'all', lingerMs: 1, batchBytes: 512 })
    const stream = new NumberedStream(producer, TOPIC, 0, { recordsPerSend: 5, window: 20 }).start()
    let killed = -1
    try {
      await stream.waitForAcked(ACKED_BEFORE_KILL)
      killed = await cluster.leaderOf(TOPIC, 0)
      const inFlightAtKill = stream.sent - stream.acked.size
      expect(await cluster.kill(killed, 'SIGKILL')).toBeNull()
      const killedAtMs = performance.now()
      const ackedAtKill = stream.acked.size
      await stream.waitForAcked(ackedAtKill + 1, FAILOVER_TIMEOUT_MS)
      const firstAckAfterKillMs = performance.now() - killedAtMs
      await stream.waitForAcked(ackedAtKill + ACKED_AFTER_KILL, FAILOVER_TIMEOUT_MS)
      const newLeader = await cluster.leaderOf(TOPIC, 0)
      expect(newLeader).not.toBe(killed)
      await cluster.restart(killed)
      await stream.waitForAcked(stream.acked.size + ACKED_AFTER_RESTART)
      await stream.stop()
      await producer.flush()

      const reader = cluster.client()
      const records = await reader.readRange(TOPIC, 0, 0n)
      const check = checkNumberedLog(stream, records.map((r) => ({ offset: r.offset, value: r.value?.toString() ?? null })))
      console.log(`idempotent failover: leader ${killed} SIGKILLed with ${inFlightAtKill} records unacknowledged, new leader ${newLeader}, next acknowledgment after ${Math.round(firstAckAfterKillMs)} ms; ` +
        `${stream.sent} records sent, ${check.acknowledged} acknowledged, ${stream.failed.length} sends failed, ${check.read} read; ` +
        `missing ${check.missing.length}, duplicates ${check.duplicates.length}, misplaced ${check.misplaced.length}, out of order ${check.outOfOrder}, gaps ${check.gaps.length}; ` +
        `batches resent ${producer.stats.retries}, producer id resets ${producer.stats.producerIdResets}`)
      expect(stream.failed).toEqual([])
      // The kill did hit batches in flight (they were resent), and none failed for good.
      expect(producer.stats.retries).toBeGreaterThan(0)
      expect(producer.stats.producerIdResets).toBe(0)
      expect(check.acknowledged).toBe(stream.sent)
      expect(check.missing).toEqual([])
      expect(check.duplicates).toEqual([])
      expect(check.misplaced).toEqual([])
      expect(check.outOfOrder).toBe(0)
      expect(check.gaps).toEqual([])
      // Nothing but the acknowledged records: every send was acknowledged, none written twice.
      expect(check.read).toBe(check.acknowledged)
    } finally {
      await stream.stop()
    }
  })

  it('recovers (KIP-360, a fresh producer id) after a batch fails for good: later batches are written, not refused OUT_OF_ORDER_SEQUENCE_NUMBER', async () => {
    // min.insync.replicas 3: with one replica down, acks=all is refused (NOT_ENOUGH_REPLICAS, nothing written).
    await cluster.createTopic(STRICT_TOPIC, { partitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '3' } })
    await cluster.waitForIsr(STRICT_TOPIC, 0)
    const producer = client.producer({ acks: 'all', lingerMs: 0, deliveryTimeoutMs: DOOMED_DELIVERY_TIMEOUT_MS })
    expect((await producer.send(STRICT_TOPIC, [{ value: 'before', partition: 0 }]))[0]!.offset).toBe(0n)
    const firstId = producer.idempotence!.producerId
    const leader = await cluster.leaderOf(STRICT_TOPIC, 0)
    const follower = cluster.ids.find((id) => id !== leader)!
    await cluster.kill(follower, 'SIGKILL')
    await cluster.waitForIsr(STRICT_TOPIC, 0, cluster.ids.filter((id) => id !== follower))
    // Sequence 1 is refused until its delivery timeout: a hole the broker will never see filled.
    await expect(producer.send(STRICT_TOPIC, [{ value: 'doomed', partition: 0 }])).rejects.toMatchObject({ code: ErrorCode.NOT_ENOUGH_REPLICAS.code })
    await cluster.restart(follower)
    await cluster.waitForIsr(STRICT_TOPIC, 0)
    const after = await producer.send(STRICT_TOPIC, [{ value: 'after-1', partition: 0 }, { value: 'after-2', partition: 0 }])
    expect(after.map((m) => m.offset)).toEqual([1n, 2n])
    const records = await cluster.client().readRange(STRICT_TOPIC, 0, 0n)
    expect(records.map((r) => r.value?.toString())).toEqual(['before', 'after-1', 'after-2'])
    // Tributary's broker refuses epoch bumps (INVALID_REQUEST): the producer took a new id.
    expect(producer.stats.producerIdResets).toBe(1)
    expect(producer.idempotence!.producerId).not.toBe(firstId)
    console.log(`KIP-360 recovery: producer id ${firstId} -> ${producer.idempotence!.producerId} after a batch failed for good; ${records.length} records read`)
  })
})
