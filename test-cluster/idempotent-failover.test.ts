/**
 * Idempotence under failover (issue 4's figure): three real `trib server` processes in
 * combined mode; an idempotent `@tributary/client` producer (acks all) streams numbered
 * records to one partition of an RF 3 topic with many sends in flight. The partition's
 * leader is SIGKILLed mid-stream (batches in flight to it are lost or answered by nobody),
 * a new leader takes over, and the killed node is restarted. Afterwards the partition holds
 * every acknowledged record exactly once, at the offset send() resolved to, in send order,
 * with no gap among the acknowledged numbers and no duplicate at all: the retried batches
 * were deduplicated by the new leader, whose producer state came from the replicated log.
 * Assumes `tsc -b` has built packages/cli/dist (npm test does it first).
 */
import { performance } from 'node:perf_hooks'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
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
})
