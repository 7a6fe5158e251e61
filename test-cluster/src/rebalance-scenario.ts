/**
 * The consumer-group rebalance scenario (issue 4's "Rebalance" figure), shared by
 * consumer-group-rebalance.test.ts (which asserts) and scripts/bench/consumer-rebalance.ts
 * (which prints):
 *
 * - a 12-partition RF 3 topic under steady produce (an idempotent producer, acks all; every
 *   record's value is a unique id, and send() tells its partition and offset);
 * - a group of 3 consumers in this process (autoCommit: positions committed every
 *   AUTO_COMMIT_INTERVAL_MS, on revocation and on close);
 * - step "add": a 4th member joins, in a child process (group-consumer-child.ts, explicit
 *   commits it reports);
 * - step "clean remove": one in-process member close()s (commits its positions, leaves);
 * - step "crash": the child is SIGKILLed: it stops heartbeating without leaving, and its
 *   partitions move once the coordinator's session timeout expires it.
 *
 * Per step: the time from the action until every partition has been consumed by its new
 * owner (the member holding it once the group is settled again), and the duplicates
 * delivered in that step. At the end, production stops and every acknowledged record must
 * have been consumed (lost = acknowledged, never consumed).
 *
 * The at-least-once check: a record delivered twice is "allowed" only if one delivery was by
 * the crashed member at an offset at or past what it had committed for that partition (the
 * KIP-848 promise: a new owner starts at the committed offset); any other duplicate is
 * unexpected.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Client, type Consumer } from '@tributary/client'
import type { BrokerCluster } from './broker-cluster.ts'
import { waitFor } from './controller-cluster.ts'
import type { ChildConsumerConfig } from './group-consumer-child.ts'

export const REBALANCE_TOPIC = 'rebalance-events'
export const REBALANCE_GROUP = 'rebalance-group'
export const REBALANCE_PARTITIONS = 12
/** group.consumer.heartbeat.interval.ms / group.consumer.session.timeout.ms for the cluster. */
export const GROUP_HEARTBEAT_INTERVAL_MS = 200
export const GROUP_SESSION_TIMEOUT_MS = 2000
/** The broker overrides the scenario needs (short group timings). */
export const REBALANCE_BROKER_OVERRIDES: readonly string[] = [
  `group.consumer.heartbeat.interval.ms=${GROUP_HEARTBEAT_INTERVAL_MS}`,
  `group.consumer.session.timeout.ms=${GROUP_SESSION_TIMEOUT_MS}`,
]
const AUTO_COMMIT_INTERVAL_MS = 250
const CHILD_COMMIT_INTERVAL_MS = 250
/** Steady produce: this many records (one per partition in turn) every PRODUCE_PERIOD_MS. */
const RECORDS_PER_SEND = 24
const PRODUCE_PERIOD_MS = 20
/** How long each phase consumes steadily once the group is settled, before the next step. */
const STEADY_MS = 1000
const SETTLE_TIMEOUT_MS = 15_000
const DRAIN_TIMEOUT_MS = 15_000

export type StepName = 'add' | 'clean remove' | 'crash'

export interface StepResult {
  readonly step: StepName
  /** Action until every partition has been consumed by its new owner. */
  readonly recoveryMs: number
  /** Partitions whose owner changed in this step. */
  readonly moved: number
  /** Extra deliveries (second and later) that happened during this step. */
  readonly duplicates: number
  /** Of those, the ones the at-least-once contract does not allow. */
  readonly unexpectedDuplicates: number
}

export interface RebalanceResult {
  readonly steps: readonly StepResult[]
  readonly produced: number
  readonly failedSends: number
  readonly deliveries: number
  readonly lost: number
  readonly lostSample: readonly string[]
  readonly duplicates: number
  readonly unexpectedDuplicates: number
  readonly unexpectedSample: readonly string[]
  /** Records the crashed member handed out past its last acknowledged commit (may be consumed again). */
  readonly uncommittedAtCrash: number
}

interface Delivery {
  readonly consumer: string
  readonly partition: number
  readonly offset: bigint
  readonly atMs: number
  readonly id: string
}

const CHILD = 'c4'

/** Runs the scenario against a started cluster (started with REBALANCE_BROKER_OVERRIDES). */
export async function runRebalanceScenario(cluster: BrokerCluster, log: (line: string) => void = () => undefined): Promise<RebalanceResult> {
  await cluster.createTopic(REBALANCE_TOPIC, { partitions: REBALANCE_PARTITIONS, replicationFactor: 3 })
  const client = new Client({ bootstrap: cluster.bootstrap(), clientId: 'rebalance' })
  const admin = client.admin()
  const deliveries: Delivery[] = []
  const produced = new Map<string, { partition: number; offset: bigint }>()
  let failedSends = 0
  let child: ChildProcess | null = null
  let childClosed: Promise<void> = Promise.resolve()
  /** The crashed member's last acknowledged commit per partition. */
  const childCommitted = new Map<number, bigint>()
  const consumers = new Map<string, Consumer>()
  const loops: Promise<void>[] = []
  const loopOf = new Map<string, Promise<void>>()
  const stopping = new Set<string>()
  let producing = true
  const steps: StepResult[] = []

  // ---- steady produce -------------------------------------------------------------------
  const producer = client.producer({ acks: 'all', lingerMs: 2 })
  let nextId = 0
  const produceLoop = (async () => {
    const inFlight = new Set<Promise<void>>()
    while (producing) {
      const records = Array.from({ length: RECORDS_PER_SEND }, () => {
        const n = nextId++
        return { value: `id-${n}`, partition: n % REBALANCE_PARTITIONS }
      })
      const p = producer.send(REBALANCE_TOPIC, records).then(
        (metas) => metas.forEach((m, i) => produced.set(records[i]!.value, { partition: m.partition, offset: m.offset })),
        () => {
          failedSends += records.length
        },
      ).finally(() => inFlight.delete(p))
      inFlight.add(p)
      await sleep(PRODUCE_PERIOD_MS)
    }
    await Promise.all(inFlight)
  })()

  // ---- members --------------------------------------------------------------------------
  const startInProcess = async (name: string): Promise<void> => {
    const c = client.consumer({
      groupId: REBALANCE_GROUP,
      fromBeginning: true,
      autoCommit: true,
      autoCommitIntervalMs: AUTO_COMMIT_INTERVAL_MS,
      sessionTimeoutMs: GROUP_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: GROUP_HEARTBEAT_INTERVAL_MS,
    })
    consumers.set(name, c)
    await c.subscribe([REBALANCE_TOPIC])
    const loop = (async () => {
      for await (const r of c) {
        deliveries.push({ consumer: name, partition: r.partition, offset: r.offset, atMs: Date.now(), id: r.value?.toString() ?? '' })
        if (stopping.has(name)) break
      }
    })()
    loopOf.set(name, loop)
    loops.push(loop)
  }
  /**
   * A clean leave as a Kafka application does it: stop polling, then close() (which commits
   * the positions and leaves). Closing while the iterator still hands out records would let
   * records out after close()'s commit: those would be consumed again by the next owner.
   */
  const leave = async (name: string): Promise<void> => {
    const c = consumers.get(name)!
    stopping.add(name)
    await loopOf.get(name)
    consumers.delete(name)
    await c.close()
  }
  const startChild = (): void => {
    const config: ChildConsumerConfig = {
      bootstrap: cluster.bootstrap(),
      groupId: REBALANCE_GROUP,
      topic: REBALANCE_TOPIC,
      sessionTimeoutMs: GROUP_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: GROUP_HEARTBEAT_INTERVAL_MS,
      commitIntervalMs: CHILD_COMMIT_INTERVAL_MS,
    }
    const path = fileURLToPath(new URL('./group-consumer-child.ts', import.meta.url))
    const proc = spawn(process.execPath, [path, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] })
    child = proc
    const lines = createInterface({ input: proc.stdout! })
    lines.on('line', (line) => {
      const [kind, ...rest] = line.split(' ')
      if (kind === 'R' && rest.length >= 4) {
        deliveries.push({ consumer: CHILD, partition: Number(rest[0]), offset: BigInt(rest[1]!), atMs: Number(rest[2]), id: rest[3]! })
      } else if (kind === 'C' && rest[0] !== undefined) {
        for (const pair of rest[0].split(',')) {
          const [p, o] = pair.split(':')
          childCommitted.set(Number(p), BigInt(o!))
        }
      }
    })
    childClosed = new Promise((resolve) => lines.once('close', () => resolve()))
  }

  /** Waits until the group has `members` members, each holding its target assignment, covering every partition. */
  const settled = async (members: number): Promise<void> => {
    await waitFor(async () => {
      const d = await admin.describeGroup(REBALANCE_GROUP)
      if (d.members.length !== members) return null
      const owned = new Set<number>()
      for (const m of d.members) {
        if (!samePartitions(m.assignment.map((tp) => tp.partition), m.targetAssignment.map((tp) => tp.partition))) return null
        for (const tp of m.assignment) owned.add(tp.partition)
      }
      return owned.size === REBALANCE_PARTITIONS ? true : null
    }, `group ${REBALANCE_GROUP} settled with ${members} members`, SETTLE_TIMEOUT_MS)
  }

  /** Owner of each partition: the consumer of its deliveries after `sinceMs` (waits for one per partition). */
  const owners = async (sinceMs: number): Promise<Map<number, string>> => waitFor(() => {
    const out = new Map<number, string>()
    for (const d of deliveries) if (d.atMs > sinceMs) out.set(d.partition, d.consumer)
    return out.size === REBALANCE_PARTITIONS ? out : null
  }, 'a delivery from every partition after the group settled', SETTLE_TIMEOUT_MS)

  let before = new Map<number, string>()
  const step = async (name: StepName, members: number, action: () => Promise<void> | void): Promise<void> => {
    const firstDelivery = deliveries.length
    const startMs = Date.now()
    await action()
    await settled(members)
    const settledMs = Date.now()
    const after = await owners(settledMs)
    let recoveredMs = startMs
    for (const [partition, owner] of after) {
      const first = deliveries.find((d) => d.partition === partition && d.consumer === owner && d.atMs >= startMs)
      if (first !== undefined && first.atMs > recoveredMs) recoveredMs = first.atMs
    }
    await sleep(STEADY_MS)
    const movedPartitions = [...after].filter(([p, o]) => before.get(p) !== o)
    const moved = movedPartitions.length
    for (const [p, o] of movedPartitions) {
      const prev = before.get(p)
      const lastByPrev = deliveries.filter((d) => d.partition === p && d.consumer === prev).at(-1)
      const firstByNew = deliveries.find((d) => d.partition === p && d.consumer === o && d.atMs >= startMs)
      log(`  ${name}: partition ${p} ${prev} -> ${o}: last offset consumed by ${prev} ${lastByPrev?.offset ?? '-'}, first by ${o} ${firstByNew?.offset ?? '-'}${prev === CHILD ? `, ${CHILD} committed ${childCommitted.get(p) ?? '-'}` : ''}`)
    }
    before = after
    const { duplicates, unexpected } = classify(deliveries, childCommitted, firstDelivery)
    const result = { step: name, recoveryMs: recoveredMs - startMs, moved, duplicates, unexpectedDuplicates: unexpected.length }
    steps.push(result)
    log(`${name}: every partition consumed again after ${result.recoveryMs} ms (${moved} moved); duplicates ${duplicates} (unexpected ${unexpected.length})`)
  }

  try {
    for (const name of ['c1', 'c2', 'c3']) await startInProcess(name)
    await settled(3)
    const t0 = Date.now()
    before = await owners(t0)
    await sleep(STEADY_MS)
    await step('add', 4, startChild)
    await step('clean remove', 3, () => leave('c1'))
    let uncommittedAtCrash = 0
    await step('crash', 3, async () => {
      child!.kill('SIGKILL')
      await childClosed
      for (const d of deliveries) {
        if (d.consumer !== CHILD) continue
        const committed = childCommitted.get(d.partition)
        if (committed === undefined || d.offset >= committed) uncommittedAtCrash++
      }
    })

    // Drain: stop producing, then every acknowledged record must be consumed.
    producing = false
    await produceLoop
    await producer.flush()
    let missing: string[] = []
    try {
      await waitFor(() => {
        const seen = new Set(deliveries.map((d) => d.id))
        missing = [...produced.keys()].filter((id) => !seen.has(id))
        return missing.length === 0 ? true : null
      }, 'every acknowledged record consumed', DRAIN_TIMEOUT_MS)
    } catch {
      // Reported as lost below.
    }
    const { duplicates, unexpected } = classify(deliveries, childCommitted, 0)
    return {
      steps,
      produced: produced.size,
      failedSends,
      deliveries: deliveries.length,
      lost: missing.length,
      lostSample: missing.slice(0, 10),
      duplicates,
      unexpectedDuplicates: unexpected.length,
      unexpectedSample: unexpected.slice(0, 10),
      uncommittedAtCrash,
    }
  } finally {
    producing = false
    await produceLoop.catch(() => undefined)
    const c = child as ChildProcess | null
    if (c !== null && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    await Promise.all([...consumers.values()].map((x) => x.close().catch(() => undefined)))
    await Promise.all(loops.map((l) => l.catch(() => undefined)))
    await client.close()
  }
}

/**
 * Duplicates among deliveries[from..] (a delivery of an id already delivered earlier), and
 * the unexpected ones: a duplicate is allowed only if the id was also delivered by the
 * crashed member at an offset at or past its last acknowledged commit of that partition.
 */
function classify(deliveries: readonly Delivery[], childCommitted: ReadonlyMap<number, bigint>, from: number): { duplicates: number; unexpected: string[] } {
  const byId = new Map<string, Delivery[]>()
  for (const d of deliveries) {
    const list = byId.get(d.id)
    if (list === undefined) byId.set(d.id, [d])
    else list.push(d)
  }
  let duplicates = 0
  const unexpected: string[] = []
  for (let i = from; i < deliveries.length; i++) {
    const d = deliveries[i]!
    const all = byId.get(d.id)!
    if (all.length < 2 || all[0] === d) continue
    duplicates++
    const byCrashed = all.filter((x) => x.consumer === CHILD)
    const allowed = all.length === 2 && byCrashed.length === 1 && (childCommitted.get(d.partition) === undefined || byCrashed[0]!.offset >= childCommitted.get(d.partition)!)
    if (!allowed) unexpected.push(`${d.id} (${all.map((x) => `${x.consumer}@${x.partition}:${x.offset}`).join(', ')})`)
  }
  return { duplicates, unexpected }
}

function samePartitions(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false
  const s = new Set(a)
  return b.every((x) => s.has(x))
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
