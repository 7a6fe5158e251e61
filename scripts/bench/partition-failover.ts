/**
 * Partition failover benchmark: how long a partition takes no writes after its leader is
 * SIGKILLed (issue 3's first figure).
 *
 * Three combined `trib server` processes (broker and controller) on loopback, a topic with
 * one partition, RF 3 and min.insync.replicas 2. One producer (test-cluster's raw client)
 * sends one record at a time with acks=all, each send waiting for its acknowledgment, and
 * retries retriable errors after a short backoff, refreshing metadata (BrokerClient). Each trial:
 *   1. waits until the ISR holds all three replicas and ten more sends are acknowledged;
 *   2. t0 = just before SIGKILL of the partition leader L (or SIGSTOP with --signal SIGSTOP: a
 *      hung leader whose connections stay open, SIGKILLed once a new leader has acknowledged);
 *   3. "unavailable" = t0 -> the first acknowledgment from a node other than L (the send in
 *      flight at the kill, retried, usually);
 *   4. from the killed node's survivors' Metadata (polled by a second client), when the new
 *      leader appeared: t0 -> leader visible;
 *   5. restarts L and times: spawn -> L back in the ISR; and whether (and when) L, the
 *      preferred leader when it is first in the replica list, leads again within
 *      --preferred-wait-ms (preferred-leader election), recorded, not required.
 * At the end every acknowledged record is read back and checked at its acknowledged offset.
 *
 * Nothing here asserts on time: it prints figures and writes bench-results/partition-failover-<ts>.json.
 *
 *   node_modules/.bin/node scripts/bench/partition-failover.ts [--trials 20]
 *     [--retry-backoff-ms 10] [--retry-backoff-max-ms 50] [--preferred-wait-ms 5000] [--signal SIGKILL|SIGSTOP]
 *     [--override key=value ...] [--keep-dirs]
 */
import { performance } from 'node:perf_hooks'
import { SequentialProducer, verifyAcknowledged, type SentRecord } from '../../test-cluster/src/sequential-producer.ts'
import type { BrokerClient } from '../../test-cluster/src/broker-client.ts'
import { countByName, formatErrorNames, intFlag, printEnvironment, seconds, sleep, startBrokerBench, type BrokerCluster } from './broker-bench.ts'
import { benchArgs, environment, formatSummary, measured, ms, reportAborted, summarize, writeResult, type Summary } from './bench-report.ts'

const TOPIC = 'failover'
/** A trial whose producer has not been acknowledged by a new leader by then is recorded as failed. */
const TRIAL_DEADLINE_MS = 30_000
/** Sends acknowledged before each kill, once the ISR is full. */
const STEADY_ACKS = 10
/** Metadata poll interval while waiting for the new leader to appear (not shorter: the 2 cores are shared). */
const LEADER_POLL_MS = 20

interface Options {
  readonly trials: number
  readonly retryBackoffMs: number
  readonly retryBackoffMaxMs: number
  readonly preferredWaitMs: number
  /** SIGKILL (the default) or SIGSTOP (a hung leader whose connections stay open; SIGKILLed once a new leader acknowledged). */
  readonly signal: 'SIGKILL' | 'SIGSTOP'
  readonly overrides: readonly string[]
  readonly keepDirs: boolean
}

interface TrialResult {
  readonly trial: number
  readonly signal: 'SIGKILL' | 'SIGSTOP'
  readonly killed: number
  /** Whether the killed node was also the active controller (combined mode: a quorum election too). */
  readonly killedController: boolean
  readonly preferred: number
  readonly newLeader: number | null
  /** t0 -> first acknowledgment from a node other than the killed one. */
  readonly unavailableMs: number | null
  /** t0 -> a survivor's Metadata names a new leader. */
  readonly leaderVisibleMs: number | null
  /** Error responses and transport failures met by sends during the trial, by name. */
  readonly errors: Record<string, number>
  readonly failedSends: number
  /** Spawn of the killed node -> it is back in the ISR. */
  readonly rejoinMs: number | null
  /** Spawn -> the preferred replica leads again (null: not within --preferred-wait-ms). */
  readonly preferredBackMs: number | null
  readonly error: string | null
}

function parseOptions(): Options {
  const { values } = benchArgs('SIGKILL (or --signal SIGSTOP) a partition leader under acks=all; time until the next acknowledged send.', {
    options: {
      trials: { type: 'string', default: '20' },
      'retry-backoff-ms': { type: 'string', default: '10' },
      'retry-backoff-max-ms': { type: 'string', default: '50' },
      'preferred-wait-ms': { type: 'string', default: '5000' },
      signal: { type: 'string', default: 'SIGKILL' },
      override: { type: 'string', multiple: true, default: [] },
      'keep-dirs': { type: 'boolean', default: false },
    },
    strict: true,
  })
  const signal = values.signal
  if (signal !== 'SIGKILL' && signal !== 'SIGSTOP') throw new Error(`--signal must be SIGKILL or SIGSTOP, not ${signal}`)
  return {
    signal,
    trials: intFlag(values, 'trials'),
    retryBackoffMs: intFlag(values, 'retry-backoff-ms'),
    retryBackoffMaxMs: intFlag(values, 'retry-backoff-max-ms'),
    preferredWaitMs: intFlag(values, 'preferred-wait-ms'),
    overrides: values.override,
    keepDirs: values['keep-dirs'],
  }
}

/** t0 -> the first survivor Metadata answer naming a live leader other than `killed`. */
async function watchLeader(cluster: BrokerCluster, killed: number, t0: number): Promise<{ atMs: number; leader: number } | null> {
  while (performance.now() - t0 < TRIAL_DEADLINE_MS) {
    const p = await cluster.partitionState(TOPIC, 0)
    if (p !== null && p.leaderId >= 0 && p.leaderId !== killed) return { atMs: performance.now(), leader: p.leaderId }
    await sleep(LEADER_POLL_MS)
  }
  return null
}

async function runTrial(cluster: BrokerCluster, producer: SequentialProducer, client: BrokerClient, trial: number, options: Options): Promise<TrialResult> {
  const full = await cluster.waitForIsr(TOPIC, 0, cluster.ids, 60_000)
  await producer.waitForAcks(STEADY_ACKS, 30_000)
  const killed = await cluster.leaderOf(TOPIC, 0)
  const preferred = full.replicaNodes[0] ?? -1
  const killedController = (await cluster.processes.leaderQuorum())?.leaderId === killed
  const attemptsBefore = client.attempts.length
  const failuresBefore = producer.failures.length

  const t0 = performance.now()
  // kill() sends the signal before its first await; pause() is synchronous.
  const killing = options.signal === 'SIGKILL' ? cluster.kill(killed, 'SIGKILL') : null
  if (killing === null) cluster.pause(killed)
  let ack: SentRecord | null = null
  let error: string | null = null
  const visible = watchLeader(cluster, killed, t0)
  try {
    ack = await producer.waitForAckAfter(t0, [killed], TRIAL_DEADLINE_MS)
  } catch (err) {
    error = err instanceof Error ? err.message : String(err)
  }
  const seen = await visible
  // A paused leader is killed now (it would come back as a stale leader otherwise).
  await (killing ?? cluster.kill(killed, 'SIGKILL'))
  const trialAttempts = client.attemptsSince(attemptsBefore).filter((a) => a.op === 'produce' && a.outcome !== 'ok')

  // Bring the node back; the next trial needs a full ISR.
  const spawnedAt = cluster.spawn(killed)
  let rejoinMs: number | null = null
  let preferredBackMs: number | null = null
  try {
    await cluster.processes.waitForServing(killed, 60_000)
    const back = await cluster.timed(async () => {
      const p = await cluster.partitionState(TOPIC, 0)
      return p !== null && p.isrNodes.length === p.replicaNodes.length ? p : null
    }, `node ${killed} back in the ISR`, 60_000)
    rejoinMs = back.atMs - spawnedAt
    try {
      const led = await cluster.timed(async () => {
        const p = await cluster.partitionState(TOPIC, 0)
        return p !== null && p.leaderId === preferred ? p : null
      }, `preferred leader ${preferred} to lead`, Math.max(0, options.preferredWaitMs - (back.atMs - spawnedAt)))
      preferredBackMs = led.atMs - spawnedAt
    } catch {
      preferredBackMs = null
    }
  } catch (err) {
    error = (error === null ? '' : `${error}; `) + (err instanceof Error ? err.message : String(err))
  }
  return {
    trial,
    signal: options.signal,
    killed,
    killedController,
    preferred,
    newLeader: ack?.leaderId ?? seen?.leader ?? null,
    unavailableMs: ack === null ? null : ack.ackedAtMs - t0,
    leaderVisibleMs: seen === null ? null : seen.atMs - t0,
    errors: countByName(trialAttempts),
    failedSends: producer.failures.length - failuresBefore,
    rejoinMs,
    preferredBackMs,
    error,
  }
}

function trialLine(r: TrialResult, total: number): string {
  const head = `trial ${String(r.trial).padStart(2)}/${total}: ${r.signal === 'SIGSTOP' ? 'paused' : 'killed'} leader ${r.killed}${r.killedController ? ' (also the active controller)' : ''}`
  if (r.unavailableMs === null) return `${head}: FAILED: ${r.error ?? 'no acknowledgment from a new leader'}`
  const errors = Object.entries(r.errors).map(([n, c]) => `${n} x${c}`).join(', ') || 'none'
  return `${head} -> leader ${r.newLeader}: unavailable ${ms(r.unavailableMs)} (leader in Metadata ${ms(r.leaderVisibleMs)}), ` +
    `retried errors: ${errors}, failed sends ${r.failedSends}; rejoined ISR ${seconds(r.rejoinMs)} after restart, ` +
    `preferred leader ${r.preferred} ${r.preferredBackMs === null ? 'not back' : `back ${seconds(r.preferredBackMs)}`} after restart` +
    (r.error === null ? '' : ` [${r.error}]`)
}

async function main(): Promise<void> {
  const options = parseOptions()
  printEnvironment(`partition failover: 3 combined nodes, topic ${TOPIC} (1 partition, RF 3, min.insync.replicas 2), acks=all one record at a time, ${options.trials} trials of ${options.signal} of the leader`, {
    'client retry backoff ms': `${options.retryBackoffMs} doubling to ${options.retryBackoffMaxMs}`,
    overrides: options.overrides.join(' ') || 'none (server defaults)',
  })
  const cluster = await startBrokerBench(3, options.overrides)
  console.log(`cluster up in ${cluster.processes.baseDir}`)
  const started = new Date().toISOString()
  const results: TrialResult[] = []
  let lost: number | null = null
  let acked = 0
  let failed = 0
  const client = cluster.client({ retryBackoffMs: options.retryBackoffMs, retryBackoffMaxMs: options.retryBackoffMaxMs })
  const producer = new SequentialProducer(client, TOPIC, 0, { deliveryTimeoutMs: TRIAL_DEADLINE_MS })
  try {
    await cluster.createTopic(TOPIC, { partitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }, 30_000)
    producer.start()
    for (let trial = 1; trial <= options.trials; trial++) {
      const r = await runTrial(cluster, producer, client, trial, options)
      results.push(r)
      console.log(trialLine(r, options.trials))
    }
    await producer.stop()
    acked = producer.acked.length
    failed = producer.failures.length
    const check = await verifyAcknowledged(client, TOPIC, 0, producer.acked)
    lost = check.mismatches.length
    if (lost > 0) console.log(`LOST OR MOVED acknowledged records: ${check.mismatches.slice(0, 10).map((m) => `${m.offset}:${m.expected}->${m.found}`).join(', ')}`)
  } catch (err) {
    reportAborted(err, cluster)
  } finally {
    await producer.stop().catch(() => undefined)
    await cluster.close({ keepDirs: options.keepDirs })
  }

  const summaries: Record<string, Summary | null> = {
    'unavailable (signal -> next ack)': summarize(measured(results, (r) => r.unavailableMs)),
    'new leader in Metadata': summarize(measured(results, (r) => r.leaderVisibleMs)),
    'restart -> back in the ISR': summarize(measured(results, (r) => r.rejoinMs)),
    'restart -> preferred leader leads': summarize(measured(results, (r) => r.preferredBackMs)),
  }
  const failedTrials = results.filter((r) => r.unavailableMs === null).length
  console.log('')
  console.log('==== partition failover: summary ====')
  console.log(`trials: ${results.length} (${failedTrials} failed); times from t0 = just before ${options.signal} of the partition leader`)
  for (const [label, s] of Object.entries(summaries)) console.log(formatSummary(label, s))
  const unavailable = summaries['unavailable (signal -> next ack)']
  if (unavailable !== null && unavailable !== undefined) {
    console.log(`target (median <= 1000 ms, max <= 2000 ms): median ${unavailable.median <= 1000 ? 'met' : 'MISSED'}, max ${unavailable.max <= 2000 ? 'met' : 'MISSED'}`)
  }
  const both = results.filter((r) => r.killedController && r.unavailableMs !== null)
  if (both.length > 0) console.log(formatSummary('unavailable, leader was also controller', summarize(both.map((r) => r.unavailableMs ?? 0))))
  console.log(`preferred leader back within ${options.preferredWaitMs} ms of the restart: ${results.filter((r) => r.preferredBackMs !== null).length} of ${results.length} trials`)
  console.log(`sends: ${acked} acknowledged, ${failed} failed; retried errors over all trials: ${formatErrorNames(client.attempts.filter((a) => a.op === 'produce' && a.outcome !== 'ok'))}`)
  console.log(`acknowledged records lost or moved: ${lost === null ? 'not checked' : lost}`)

  const path = await writeResult('partition-failover', { benchmark: 'partition-failover', started, environment: environment(), options, summaries, failedTrials, acked, failedSends: failed, lost, trials: results })
  console.log(`result: ${path}`)
}

await main()
