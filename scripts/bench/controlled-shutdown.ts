/**
 * Controlled shutdown benchmark: what producers see while a partition leader is restarted
 * with SIGTERM (issue 3's second figure; target: no error at all).
 *
 * Three combined `trib server` processes on loopback, a topic with --partitions partitions
 * (RF 3, min.insync.replicas 2), and one producer per partition sending one record at a
 * time with acks=all (test-cluster's raw client: retries retriable errors after a short
 * backoff, refreshing metadata). Each trial:
 *   1. waits until every partition's ISR is full and each producer has ten more acknowledgments;
 *   2. sends SIGTERM to the leader of partition 0 (the node moves its leaderships away, then
 *      exits), and times the exit;
 *   3. restarts the node and waits until it is back in every ISR;
 *   4. counts, over the trial: failed sends (no acknowledgment within the delivery timeout,
 *      or a non-retriable error), produce error responses by Kafka code (NOT_LEADER_OR_FOLLOWER
 *      ...), transport failures (UNAVAILABLE ...), and the longest wait for one acknowledgment.
 * At the end every acknowledged record is read back and checked at its acknowledged offset.
 *
 *   node_modules/.bin/node scripts/bench/controlled-shutdown.ts [--trials 5] [--partitions 3]
 *     [--override key=value ...] [--keep-dirs]
 */
import { performance } from 'node:perf_hooks'
import { SequentialProducer, verifyAcknowledged } from '../../test-cluster/src/sequential-producer.ts'
import type { Attempt } from '../../test-cluster/src/broker-client.ts'
import { countByName, formatErrorNames, intFlag, printEnvironment, seconds, startBrokerBench, type BrokerCluster } from './broker-bench.ts'
import { benchArgs, environment, formatSummary, measured, ms, reportAborted, summarize, writeResult, type Summary } from './bench-report.ts'

const TOPIC = 'controlled'
const STEADY_ACKS = 10
/** A send not acknowledged within this long counts as failed. */
const DELIVERY_TIMEOUT_MS = 30_000

interface Options {
  readonly trials: number
  readonly partitions: number
  readonly overrides: readonly string[]
  readonly keepDirs: boolean
}

interface TrialResult {
  readonly trial: number
  readonly stopped: number
  /** SIGTERM -> the process exited, and its exit code. */
  readonly shutdownMs: number
  readonly exitCode: number | null
  /** Spawn -> back in every partition's ISR. */
  readonly rejoinMs: number | null
  readonly failedSends: number
  /** Produce calls answered with a Kafka error code, and produce calls that failed in transport, by name. */
  readonly errorResponses: Record<string, number>
  readonly transportFailures: Record<string, number>
  /** The longest time one send waited for its acknowledgment during the trial. */
  readonly maxSendMs: number
  readonly acked: number
  readonly error: string | null
}

function parseOptions(): Options {
  const { values } = benchArgs('Restart partition leaders with SIGTERM while producers send; count producer errors (target 0).', {
    options: {
      trials: { type: 'string', default: '5' },
      partitions: { type: 'string', default: '3' },
      override: { type: 'string', multiple: true, default: [] },
      'keep-dirs': { type: 'boolean', default: false },
    },
    strict: true,
  })
  return { trials: intFlag(values, 'trials'), partitions: intFlag(values, 'partitions'), overrides: values.override, keepDirs: values['keep-dirs'] }
}

async function fullIsr(cluster: BrokerCluster, partitions: number, timeoutMs: number): Promise<void> {
  for (let p = 0; p < partitions; p++) await cluster.waitForIsr(TOPIC, p, cluster.ids, timeoutMs)
}

async function runTrial(cluster: BrokerCluster, producers: readonly SequentialProducer[], trial: number, options: Options): Promise<TrialResult> {
  await fullIsr(cluster, options.partitions, 60_000)
  await Promise.all(producers.map((p) => p.waitForAcks(STEADY_ACKS, 30_000)))
  const stopped = await cluster.leaderOf(TOPIC, 0)
  const marks = producers.map((p) => ({ acked: p.acked.length, failed: p.failures.length }))

  const t0 = performance.now()
  const exitCode = await cluster.stop(stopped)
  const shutdownMs = performance.now() - t0
  let rejoinMs: number | null = null
  let error: string | null = null
  const spawnedAt = cluster.spawn(stopped)
  try {
    await cluster.processes.waitForServing(stopped, 60_000)
    await fullIsr(cluster, options.partitions, 60_000)
    rejoinMs = performance.now() - spawnedAt
    // A few more sends after the node is back: errors caused by its return count too.
    await Promise.all(producers.map((p) => p.waitForAcks(STEADY_ACKS, 30_000)))
  } catch (err) {
    error = err instanceof Error ? err.message : String(err)
  }

  let failedSends = 0
  let maxSendMs = 0
  let acked = 0
  const errors: Attempt[] = []
  for (const [i, p] of producers.entries()) {
    const mark = marks[i]!
    failedSends += p.failures.length - mark.failed
    const sends = p.acked.slice(mark.acked)
    acked += sends.length
    for (const s of sends) {
      maxSendMs = Math.max(maxSendMs, s.ackedAtMs - s.startedAtMs)
      errors.push(...s.errors)
    }
    for (const f of p.failures.slice(mark.failed)) errors.push(...f.attempts)
  }
  return {
    trial,
    stopped,
    shutdownMs,
    exitCode,
    rejoinMs,
    failedSends,
    errorResponses: countByName(errors.filter((a) => a.outcome === 'error_code')),
    transportFailures: countByName(errors.filter((a) => a.outcome === 'transport')),
    maxSendMs,
    acked,
    error,
  }
}

function names(counts: Record<string, number>): string {
  return Object.entries(counts).map(([n, c]) => `${n} x${c}`).join(', ') || 'none'
}

function trialLine(r: TrialResult, total: number): string {
  return `trial ${r.trial}/${total}: SIGTERM of node ${r.stopped} (leader of partition 0): exited with ${r.exitCode} in ${ms(r.shutdownMs)}, ` +
    `back in every ISR ${seconds(r.rejoinMs)} after restart; ${r.acked} acknowledged, ${r.failedSends} failed sends, ` +
    `error responses: ${names(r.errorResponses)}, transport failures: ${names(r.transportFailures)}, longest send ${ms(r.maxSendMs)}` +
    (r.error === null ? '' : ` [${r.error}]`)
}

async function main(): Promise<void> {
  const options = parseOptions()
  printEnvironment(`controlled shutdown: 3 combined nodes, topic ${TOPIC} (${options.partitions} partitions, RF 3, min.insync.replicas 2), one acks=all producer per partition sending one record at a time, ${options.trials} SIGTERM restarts of a leader`, {
    overrides: options.overrides.join(' ') || 'none (server defaults)',
  })
  const cluster = await startBrokerBench(3, options.overrides)
  console.log(`cluster up in ${cluster.processes.baseDir}`)
  const started = new Date().toISOString()
  const results: TrialResult[] = []
  const clients = Array.from({ length: options.partitions }, () => cluster.client())
  const producers = clients.map((c, p) => new SequentialProducer(c, TOPIC, p, { deliveryTimeoutMs: DELIVERY_TIMEOUT_MS }))
  let lost: number | null = null
  try {
    await cluster.createTopic(TOPIC, { partitions: options.partitions, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }, 30_000)
    for (const p of producers) p.start()
    for (let trial = 1; trial <= options.trials; trial++) {
      const r = await runTrial(cluster, producers, trial, options)
      results.push(r)
      console.log(trialLine(r, options.trials))
    }
    await Promise.all(producers.map((p) => p.stop()))
    lost = 0
    for (const p of producers) lost += (await verifyAcknowledged(clients[p.partition]!, TOPIC, p.partition, p.acked)).mismatches.length
  } catch (err) {
    reportAborted(err, cluster)
  } finally {
    await Promise.all(producers.map((p) => p.stop().catch(() => undefined)))
    await cluster.close({ keepDirs: options.keepDirs })
  }

  const total = (f: (r: TrialResult) => number): number => results.reduce((a, r) => a + f(r), 0)
  const sum = (f: (r: TrialResult) => Record<string, number>): number => results.reduce((a, r) => a + Object.values(f(r)).reduce((x, y) => x + y, 0), 0)
  const summaries: Record<string, Summary | null> = {
    'SIGTERM -> process exited': summarize(results.map((r) => r.shutdownMs)),
    'restart -> back in every ISR': summarize(measured(results, (r) => r.rejoinMs)),
    'longest send per trial': summarize(results.map((r) => r.maxSendMs)),
  }
  const allErrors = producers.flatMap((p) => [...p.acked.flatMap((a) => a.errors), ...p.failures.flatMap((f) => f.attempts)])
  console.log('')
  console.log('==== controlled shutdown: summary ====')
  for (const [label, s] of Object.entries(summaries)) console.log(formatSummary(label, s))
  console.log(`trials: ${results.length}; acknowledged sends during trials: ${total((r) => r.acked)}`)
  console.log(`failed sends: ${total((r) => r.failedSends)} (target 0)`)
  console.log(`produce error responses: ${sum((r) => r.errorResponses)}, transport failures: ${sum((r) => r.transportFailures)} (target 0): ${formatErrorNames(allErrors)}`)
  console.log(`acknowledged records lost or moved: ${lost === null ? 'not checked' : lost}`)
  const path = await writeResult('controlled-shutdown', { benchmark: 'controlled-shutdown', started, environment: environment(), options, summaries, lost, trials: results })
  console.log(`result: ${path}`)
}

await main()
