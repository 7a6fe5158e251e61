/**
 * Issue 7's workloads against one fresh 3-node Tributary cluster (BrokerCluster: combined
 * `trib server` processes on loopback) in one durability mode (log.flush.policy): produce
 * 100 B and 1 KiB records, consume the same records back, end-to-end latency at a fixed
 * rate, and sequential produce latency (one record in flight, NATS's `lat` workload). Every
 * topic has RF 3 and `partitions` partitions; producers use acks=all.
 *
 * The clients are the `trib` perf tools, each run as its own process (perf-child.ts), so
 * the cluster and the client share the machine's cores as they would with Kafka's tools.
 * With --producers N, N producer-perf-test processes run at once, each with 1/N of the
 * records; their rates add up over the slowest one's time, and latency is the worst one's.
 */
import { performance } from 'node:perf_hooks'
import type { ConsumerPerfResult, EndToEndResult, LatencyFigures, ProducerPerfResult } from '../../packages/cli/src/perf/perf-result.ts'
import { cpuSeconds, startBrokerBench, type BrokerCluster } from './broker-bench.ts'
import { runPerfTool } from './perf-child.ts'

export type FlushPolicy = 'fsync' | 'page-cache'

/** Records sent and acknowledged one at a time before the end-to-end run, as the NATS side's nats-e2e.mjs does (its --warmup default). */
export const E2E_WARMUP_RECORDS = 500

/** The workloads, in run order (a consume workload reads what its produce workload wrote). */
export const WORKLOADS = ['produce-100', 'consume-100', 'produce-1k', 'consume-1k', 'e2e', 'sequential'] as const
export type Workload = (typeof WORKLOADS)[number]

export interface TributaryPlan {
  readonly partitions: number
  readonly records100: number
  readonly records1k: number
  readonly e2eRate: number
  readonly e2eRecords: number
  readonly latencyRecords: number
  readonly producers: number
  /** Producer properties of the throughput runs (Kafka names). */
  readonly throughputProps: readonly string[]
  readonly recordsPerSend: number
  /** send() calls in flight, or null: as many as hold inFlightBytes of records. */
  readonly sendsInFlight: number | null
  readonly inFlightBytes: number
  /** Producer properties of the sequential latency run. */
  readonly latencyProps: readonly string[]
  /** Producer properties of the fixed-rate end-to-end run. */
  readonly e2eProps: readonly string[]
  /** Extra broker overrides (key=value) for every node. */
  readonly overrides: readonly string[]
  /** The workloads to run (the others are reported as skipped). */
  readonly workloads: readonly Workload[]
}

export interface ThroughputFigure {
  readonly records: number
  readonly recordsPerSec: number
  readonly mbPerSec: number
  readonly latency: LatencyFigures | null
  /** Cores the three nodes used during the run (CPU seconds / wall seconds). */
  readonly serverCores: number | null
  readonly clientCores: number | null
  readonly detail: unknown
}

export interface LatencyFigure {
  readonly latency: LatencyFigures
  readonly ack: LatencyFigures | null
  readonly recordsPerSec: number
  readonly serverCores: number | null
  readonly clientCores: number | null
  readonly detail: unknown
}

/** null: the workload failed (its error is in `errors`) or was skipped (listed in `skipped`). */
export interface TributaryResults {
  readonly mode: FlushPolicy
  readonly produce100: ThroughputFigure | null
  readonly produce1k: ThroughputFigure | null
  readonly consume100: ThroughputFigure | null
  readonly consume1k: ThroughputFigure | null
  readonly e2e: LatencyFigure | null
  readonly sequential: LatencyFigure | null
  readonly errors: readonly string[]
  readonly skipped: readonly Workload[]
}

async function serverCpu(cluster: BrokerCluster): Promise<number> {
  let total = 0
  for (const id of cluster.runningIds()) total += (await cpuSeconds(cluster.processes.pid(id))) ?? 0
  return total
}

/** Runs `work`, returning its value and the cores the nodes used meanwhile. */
async function withServerCores<T>(cluster: BrokerCluster, work: () => Promise<T>): Promise<{ value: T; serverCores: number | null; wallMs: number }> {
  const before = await serverCpu(cluster)
  const t0 = performance.now()
  const value = await work()
  const wallMs = performance.now() - t0
  const after = await serverCpu(cluster)
  return { value, serverCores: wallMs > 0 ? (after - before) / (wallMs / 1000) : null, wallMs }
}

/** The client process's CPU seconds over the run's wall time (it includes the tool's start-up). */
function clientCores(cpuSeconds: number | undefined, wallMs: number): number | null {
  return cpuSeconds === undefined || wallMs <= 0 ? null : cpuSeconds / (wallMs / 1000)
}

function worstLatency(list: readonly LatencyFigures[]): LatencyFigures {
  const max = (f: (l: LatencyFigures) => number | null): number | null => {
    const v = list.map(f).filter((x): x is number => x !== null)
    return v.length === 0 ? null : Math.max(...v)
  }
  return { count: list.reduce((a, l) => a + l.count, 0), avgMs: max((l) => l.avgMs), p50Ms: max((l) => l.p50Ms), p95Ms: max((l) => l.p95Ms), p99Ms: max((l) => l.p99Ms), p999Ms: max((l) => l.p999Ms), maxMs: max((l) => l.maxMs) }
}

async function produce(cluster: BrokerCluster, plan: TributaryPlan, topic: string, records: number, recordSize: number, label: string): Promise<ThroughputFigure> {
  const bootstrap = cluster.bootstrap().join(',')
  const share = Math.ceil(records / plan.producers)
  const { value: results, serverCores, wallMs } = await withServerCores(cluster, () =>
    Promise.all(Array.from({ length: plan.producers }, (_, i) =>
      runPerfTool<ProducerPerfResult>('producer-perf-test', [
        '--bootstrap-server', bootstrap, '--topic', topic, '--num-records', String(i === plan.producers - 1 ? records - share * (plan.producers - 1) : share),
        '--record-size', String(recordSize), '--throughput', '-1', '--records-per-send', String(plan.recordsPerSend),
        '--sends-in-flight', String(plan.sendsInFlight ?? Math.max(1, Math.round(plan.inFlightBytes / (plan.recordsPerSend * recordSize)))),
        '--producer-props', ...plan.throughputProps,
      ], `  [${label}${plan.producers > 1 ? ` #${i + 1}` : ''}] `))))
  const failed = results.reduce((a, r) => a + r.failed, 0)
  if (failed > 0) throw new Error(`${label}: ${failed} records failed (${results.find((r) => r.firstError !== null)?.firstError ?? ''})`)
  const acked = results.reduce((a, r) => a + r.records, 0)
  const elapsedMs = Math.max(...results.map((r) => r.elapsedMs))
  const clientCpu = results.reduce((a, r) => a + (r.processCpuSeconds ?? 0), 0)
  return {
    records: acked,
    recordsPerSec: (acked * 1000) / elapsedMs,
    mbPerSec: (acked * recordSize) / 1e6 / (elapsedMs / 1000),
    latency: worstLatency(results.map((r) => r.latency)),
    serverCores,
    clientCores: clientCores(clientCpu, wallMs),
    detail: results,
  }
}

async function consume(cluster: BrokerCluster, topic: string, records: number, label: string): Promise<ThroughputFigure> {
  const { value: r, serverCores, wallMs } = await withServerCores(cluster, () =>
    runPerfTool<ConsumerPerfResult>('consumer-perf-test', ['--bootstrap-server', cluster.bootstrap().join(','), '--topic', topic, '--messages', String(records), '--group', `bench-${topic}`, '--timeout', '30000'], `  [${label}] `))
  if (r.records < records) throw new Error(`${label}: read ${r.records} of ${records} records${r.timedOut ? ' (timed out)' : ''}`)
  // Kafka's fetch.* figures: the group's assignment time left out.
  return { records: r.records, recordsPerSec: r.fetchRecordsPerSec, mbPerSec: r.fetchMbPerSec, latency: null, serverCores, clientCores: clientCores(r.processCpuSeconds, wallMs), detail: r }
}

/** Creates the run's topics, then runs every workload once, in order. */
export async function runTributaryWorkloads(mode: FlushPolicy, plan: TributaryPlan, log: (line: string) => void): Promise<TributaryResults> {
  log(`tributary (${mode}): starting 3 nodes`)
  const cluster = await startBrokerBench(3, [`log.flush.policy=${mode}`, ...plan.overrides])
  try {
    for (const t of ['perf-100', 'perf-1k', 'perf-e2e', 'perf-seq']) await cluster.createTopic(t, { partitions: plan.partitions, replicationFactor: 3 })
    const bootstrap = cluster.bootstrap().join(',')
    const errors: string[] = []
    const skipped: Workload[] = []
    /** One workload; a failure is recorded and the next workload still runs. */
    const attempt = async <T>(workload: Workload, what: string, work: () => Promise<T>): Promise<T | null> => {
      if (!plan.workloads.includes(workload)) {
        skipped.push(workload)
        return null
      }
      log(`tributary (${mode}): ${what}`)
      try {
        return await work()
      } catch (err) {
        const message = `${mode} ${what}: ${err instanceof Error ? err.message : String(err)}`
        log(`  FAILED: ${message}`)
        errors.push(message)
        return null
      }
    }

    const produce100 = await attempt('produce-100', `produce ${plan.records100} x 100 B`, () => produce(cluster, plan, 'perf-100', plan.records100, 100, `${mode} produce 100 B`))
    /** A consume workload reads what its produce workload wrote: without that, it is skipped (or failed with it). */
    const after = (before: Workload, workload: Workload): null => {
      if (!plan.workloads.includes(workload)) skipped.push(workload)
      else if (skipped.includes(before)) {
        skipped.push(workload)
        log(`tributary (${mode}): ${workload} skipped: it reads what ${before} writes`)
      } else errors.push(`${mode} ${workload}: not run (${before} failed)`)
      return null
    }
    const consume100 = produce100 === null ? after('produce-100', 'consume-100') : await attempt('consume-100', 'consume them', () => consume(cluster, 'perf-100', produce100.records, `${mode} consume 100 B`))
    const produce1k = await attempt('produce-1k', `produce ${plan.records1k} x 1 KiB`, () => produce(cluster, plan, 'perf-1k', plan.records1k, 1024, `${mode} produce 1 KiB`))
    const consume1k = produce1k === null ? after('produce-1k', 'consume-1k') : await attempt('consume-1k', 'consume them', () => consume(cluster, 'perf-1k', produce1k.records, `${mode} consume 1 KiB`))

    const e2e = await attempt('e2e', `end-to-end latency at ${plan.e2eRate} records/s (${plan.e2eRecords} records)`, async (): Promise<LatencyFigure> => {
      const run = await withServerCores(cluster, () =>
        runPerfTool<EndToEndResult>('end-to-end-latency', ['--bootstrap-server', bootstrap, '--topic', 'perf-e2e', '--num-records', String(plan.e2eRecords), '--record-size', '100', '--throughput', String(plan.e2eRate), '--warmup-records', String(E2E_WARMUP_RECORDS), '--producer-props', ...plan.e2eProps], `  [${mode} e2e] `))
      return { latency: run.value.endToEnd, ack: run.value.ack, recordsPerSec: run.value.recordsPerSec, serverCores: run.serverCores, clientCores: clientCores(run.value.processCpuSeconds, run.wallMs), detail: run.value }
    })

    const sequential = await attempt('sequential', `sequential produce latency (${plan.latencyRecords} records, one in flight)`, async (): Promise<LatencyFigure> => {
      const run = await withServerCores(cluster, () =>
        runPerfTool<ProducerPerfResult>('producer-perf-test', ['--bootstrap-server', bootstrap, '--topic', 'perf-seq', '--num-records', String(plan.latencyRecords), '--record-size', '100', '--throughput', '-1', '--records-per-send', '1', '--sends-in-flight', '1', '--warmup-records', '500', '--reporting-interval', '0', '--producer-props', ...plan.latencyProps], `  [${mode} sequential] `))
      if (run.value.failed > 0) throw new Error(`${run.value.failed} records failed (${run.value.firstError ?? ''})`)
      return { latency: run.value.latency, ack: null, recordsPerSec: run.value.recordsPerSec, serverCores: run.serverCores, clientCores: clientCores(run.value.processCpuSeconds, run.wallMs), detail: run.value }
    })
    return { mode, produce100, produce1k, consume100, consume1k, e2e, sequential, errors, skipped }
  } finally {
    await cluster.close()
  }
}
