/**
 * Network partitions between real nodes (issue 6): three `trib server` processes in combined
 * mode, each in a network namespace of its own (src/netns/), talking over a veth mesh whose
 * links the test cuts and heals; the test process and its `@tributary/client` producer sit in
 * the root namespace, whose links to the nodes are never cut.
 *
 * - A follower cut off from the others leaves the ISR while acks=all writes continue
 *   (min.insync.replicas 2), and rejoins it once healed.
 * - Isolating the active controller: the majority elects a new controller and fences the
 *   isolated broker (broker.session.timeout.ms after its last heartbeat); a partition it led
 *   gets a new leader on the majority side, while the isolated old leader acknowledges no
 *   acks=all write (it cannot shrink its ISR without the controller: KIP-497's AlterPartition
 *   goes through the quorum). After healing every acknowledged record is in the log exactly
 *   once, at its acknowledged offset, in send order.
 *
 * Needs root and iproute2 (`ip netns`, veth, the blackhole qdisc); elsewhere every case is
 * skipped with the reason netnsAvailable() gives. Assumes `tsc -b` has built packages/cli/dist.
 */
import { readFile, readlink } from 'node:fs/promises'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { encodeRecordBatch } from '@tributary/protocol'
import { Client } from '@tributary/client'
import { BrokerClient, SendFailedError, textRecord } from './src/broker-client.ts'
import { waitFor } from './src/controller-cluster.ts'
import { readLocalPartition } from './src/local-log.ts'
import { checkNumberedLog, NumberedStream } from './src/numbered-stream.ts'
import { netnsAvailable, type NetnsAvailability } from './src/netns/net-command-runner.ts'
import { NetnsCluster } from './src/netns/netns-cluster.ts'
import { claimedRunIds } from './src/netns/netns-topology.ts'

/** Short timeouts so each fault plays out in a few seconds. */
const SESSION_TIMEOUT_MS = 2000
const REPLICA_LAG_TIME_MAX_MS = 1500
const OVERRIDES = [
  `broker.session.timeout.ms=${SESSION_TIMEOUT_MS}`,
  'broker.heartbeat.interval.ms=250',
  `replica.lag.time.max.ms=${REPLICA_LAG_TIME_MAX_MS}`,
  'replica.fetch.backoff.ms=200',
]
/** Deadline of each step that waits for the cluster to react to a fault. */
const FAULT_TIMEOUT_MS = 15_000
/** Acknowledged records asked for in each phase of a scenario. */
const ACKED_PER_PHASE = 200

describe('partitions between namespaced nodes (3 combined processes)', () => {
  let available: NetnsAvailability = { ok: false, reason: 'not probed' }
  let cluster: NetnsCluster | null = null

  beforeAll(async () => {
    available = await netnsAvailable()
    if (!available.ok) {
      console.warn(`netns partition tests skipped: ${available.reason}`)
      return
    }
    cluster = await NetnsCluster.start({ size: 3, overrides: OVERRIDES })
  })

  afterEach(async ({ task }) => {
    if (cluster === null) return
    if (task.result?.state === 'fail') console.error(cluster.dump())
    await cluster.healAll()
  })

  afterAll(async () => {
    const runId = cluster?.net.runId
    await cluster?.close()
    if (runId !== undefined) expect(claimedRunIds()).not.toContain(runId)
  })

  it('runs each node in its own namespace, on its own address, as the spawned pid', async (ctx) => {
    if (cluster === null) return ctx.skip(available.ok ? 'cluster not started' : available.reason)
    const c = cluster
    expect(c.bootstrap().map((address) => address.split(':')[0])).toEqual(c.ids.map((id) => `10.213.${c.net.runId}.${id}`))
    const rootNs = await readlink('/proc/self/ns/net')
    const seen = new Set<string>()
    for (const id of c.ids) {
      const pid = c.brokers.processes.pid(id)
      // `ip netns exec` execs: the child is the node itself, not a wrapper.
      expect((await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')).toContain('server')
      const ns = await readlink(`/proc/${pid}/ns/net`)
      expect(ns).not.toBe(rootNs)
      seen.add(ns)
    }
    expect(seen.size).toBe(3)
  })

  it('a follower cut off leaves the ISR while writes continue, and rejoins when healed', async (ctx) => {
    if (cluster === null) return ctx.skip(available.ok ? 'cluster not started' : available.reason)
    const c = cluster
    const topic = 'netns-isr'
    await c.brokers.createTopic(topic, { partitions: 1, replicationFactor: 3 })
    await c.brokers.waitForIsr(topic, 0)
    const leader = await c.brokers.leaderOf(topic, 0)
    const controller = (await c.brokers.processes.waitForLeader()).leaderId
    // A follower that is not the controller either, so only the ISR moves.
    const follower = c.ids.find((id) => id !== leader && id !== controller) ?? c.ids.find((id) => id !== leader) ?? -1
    const client = new Client({ bootstrap: c.bootstrap(), clientId: 'netns-isr', requestTimeoutMs: 2000 })
    // A bounded delivery timeout: a stalled send fails (and says why) instead of hanging stop().
    const producer = client.producer({ acks: 'all', lingerMs: 1, batchBytes: 512, requestTimeoutMs: 2000, deliveryTimeoutMs: 10_000 })
    const stream = new NumberedStream(producer, topic, 0, { recordsPerSend: 5, window: 10 }).start()
    ctx.onTestFailed(() => console.error(`stream: ${stream.sent} sent, ${stream.acked.size} acknowledged, failed: ${JSON.stringify(stream.failed.slice(0, 3))}`))
    try {
      await stream.waitForAcked(ACKED_PER_PHASE)
      await c.isolate(follower)
      const others = c.ids.filter((id) => id !== follower)
      await c.brokers.waitForPartition(topic, 0, (p) => !p.isrNodes.includes(follower) && p.isrNodes.length === 2, `node ${follower} out of the ISR`, FAULT_TIMEOUT_MS)
      const ackedCut = stream.acked.size
      await stream.waitForAcked(ackedCut + ACKED_PER_PHASE, FAULT_TIMEOUT_MS)
      expect(await c.brokers.leaderOf(topic, 0)).not.toBe(follower)

      await c.healAll()
      await c.brokers.waitForIsr(topic, 0, c.ids, FAULT_TIMEOUT_MS)
      await stream.waitForAcked(stream.acked.size + ACKED_PER_PHASE, FAULT_TIMEOUT_MS)
      await stream.stop()
      await producer.flush()
      const records = await c.brokers.client().readRange(topic, 0, 0n)
      const check = checkNumberedLog(stream, records.map((r) => ({ offset: r.offset, value: r.value?.toString() ?? null })))
      console.log(`netns ISR: node ${follower} cut off (leader ${leader}, controller ${controller}, others ${others.join(',')}); ${check.acknowledged} acknowledged, ${stream.failed.length} sends failed`)
      expect({ missing: check.missing, duplicates: check.duplicates, misplaced: check.misplaced, outOfOrder: check.outOfOrder }).toEqual({ missing: [], duplicates: [], misplaced: [], outOfOrder: 0 })
    } finally {
      await stream.stop()
      await producer.close()
      await client.close()
    }
  })

  it('isolating the active controller: the majority elects a new one, fences the old leader, and keeps every acknowledged write', async (ctx) => {
    if (cluster === null) return ctx.skip(available.ok ? 'cluster not started' : available.reason)
    const c = cluster
    const topic = 'netns-controller'
    await c.brokers.createTopic(topic, { partitions: 3, replicationFactor: 3 })
    for (let p = 0; p < 3; p++) await c.brokers.waitForIsr(topic, p)
    const old = await c.brokers.processes.waitForLeader()
    const isolated = old.leaderId
    const majority = c.ids.filter((id) => id !== isolated)
    // One partition per node as preferred leader (round-robin placement): find the controller's.
    let partition = -1
    for (let p = 0; p < 3 && partition < 0; p++) if ((await c.brokers.leaderOf(topic, p)) === isolated) partition = p
    expect(partition, `a partition of ${topic} led by the controller (node ${isolated})`).toBeGreaterThanOrEqual(0)
    const before = await c.brokers.waitForPartition(topic, partition, (p) => p.leaderId === isolated, 'led by the controller')

    // The isolated node FIRST in the bootstrap list: it answers Metadata first, and once cut
    // off it keeps answering from its stale view (naming itself leader at the old epoch). The
    // client asks another broker after a request to it failed, and never takes an older leader
    // epoch over a newer one (KIP-320), so writes resume on the majority during the isolation.
    const client = new Client({ bootstrap: [isolated, ...majority].map((id) => c.brokers.brokerAddress(id)), clientId: 'netns-controller', requestTimeoutMs: 2000 })
    const producer = client.producer({ acks: 'all', lingerMs: 1, batchBytes: 512, requestTimeoutMs: 2000, deliveryTimeoutMs: 10_000 })
    const stream = new NumberedStream(producer, topic, partition, { recordsPerSend: 5, window: 10 }).start()
    ctx.onTestFailed(() => console.error(`stream: ${stream.sent} sent, ${stream.acked.size} acknowledged, failed: ${JSON.stringify(stream.failed.slice(0, 3))}`))
    const direct = new BrokerClient({ bootstrap: [c.brokers.brokerAddress(isolated)], callTimeoutMs: 1000 })
    try {
      await stream.waitForAcked(ACKED_PER_PHASE)
      await c.isolate(isolated)

      const next = await c.brokers.processes.waitForLeader({ exclude: [isolated], minEpoch: old.epoch + 1, timeoutMs: FAULT_TIMEOUT_MS })
      expect(majority).toContain(next.leaderId)
      // The majority's metadata: the isolated broker fenced, the partition led on this side with a newer epoch.
      const after = await waitFor(async () => {
        const m = await c.brokers.metadataFrom(next.leaderId, [topic])
        const p = m.topics.find((t) => t.name === topic)?.partitions.find((x) => x.partitionIndex === partition)
        if (m.brokers.some((b) => b.nodeId === isolated) || p === undefined || !majority.includes(p.leaderId)) return null
        return p
      }, `node ${isolated} fenced and ${topic}-${partition} led by one of ${majority.join(',')}`, FAULT_TIMEOUT_MS)
      expect(after.leaderEpoch).toBeGreaterThan(before.leaderEpoch)

      // The isolated old leader still believes it leads, but acknowledges nothing with acks=all.
      const refused = await direct.produceBatch(topic, partition, encodeRecordBatch({ records: [textRecord('from-the-minority')] }), { acks: -1, requestTimeoutMs: 1000, deliveryTimeoutMs: 2500 }).catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(SendFailedError)

      // Acks resume while the isolation lasts (the heal comes after), from the new leader.
      const ackedIsolated = stream.acked.size
      await stream.waitForAcked(ackedIsolated + ACKED_PER_PHASE, FAULT_TIMEOUT_MS)
      expect(c.isConnected(isolated, majority[0]!)).toBe(false)
      const routed = client.cache.leader(topic, partition)
      expect(majority).toContain(routed?.nodeId)
      expect(routed?.leaderEpoch).toBeGreaterThanOrEqual(after.leaderEpoch)

      await c.healAll()
      await c.brokers.waitForBrokers({ timeoutMs: FAULT_TIMEOUT_MS })
      await c.brokers.waitForIsr(topic, partition, c.ids, FAULT_TIMEOUT_MS)
      await stream.waitForAcked(stream.acked.size + ACKED_PER_PHASE, FAULT_TIMEOUT_MS)
      await stream.stop()
      await producer.flush()
      const records = await c.brokers.client().readRange(topic, partition, 0n)
      const check = checkNumberedLog(stream, records.map((r) => ({ offset: r.offset, value: r.value?.toString() ?? null })))
      console.log(`netns controller isolation: controller ${isolated} (epoch ${old.epoch}) isolated, new controller ${next.leaderId} (epoch ${next.epoch}); ${topic}-${partition} leader ${isolated} -> ${after.leaderId}; ${check.acknowledged} acknowledged, ${stream.failed.length} sends failed`)
      expect(records.some((r) => r.value?.toString() === 'from-the-minority')).toBe(false)
      expect({ missing: check.missing, duplicates: check.duplicates, misplaced: check.misplaced, outOfOrder: check.outOfOrder }).toEqual({ missing: [], duplicates: [], misplaced: [], outOfOrder: 0 })

      // The old leader's own copy, read from disk after a clean stop (the node stays down: this
      // is the last case): whatever it appended alone was truncated when it came back as a
      // follower (leader-epoch truncation, KIP-101/KIP-279), so it agrees with the log offset
      // by offset and holds no trace of the minority's write.
      await c.brokers.waitForIsr(topic, partition, c.ids, FAULT_TIMEOUT_MS)
      await c.brokers.stop(isolated)
      const oldCopy = await readLocalPartition(c.brokers.processes.logDir(isolated), topic, partition)
      const byOffset = new Map(records.map((r) => [r.offset, r.value?.toString() ?? null]))
      expect(oldCopy.length).toBeGreaterThanOrEqual(ACKED_PER_PHASE)
      expect(oldCopy.filter((r) => byOffset.get(r.offset) !== (r.value?.toString() ?? null)).map((r) => `${r.offset}: ${r.value?.toString() ?? null}`)).toEqual([])
    } finally {
      direct.close()
      await stream.stop()
      await producer.close()
      await client.close()
    }
  })
})
