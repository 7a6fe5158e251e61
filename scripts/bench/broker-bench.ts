/**
 * What the broker benchmarks share: a BrokerCluster of combined-mode `trib server` processes
 * (test-cluster/src/broker-cluster.ts) in a `trib-bench-` temp dir, pre-encoded large batches, and small formatting helpers. Reporting (percentiles,
 * JSON result files, the environment) is bench-report.ts's.
 */
import { readFile } from 'node:fs/promises'
import { encodeRecordBatch } from '@tributary/protocol'
import { BrokerCluster } from '../../test-cluster/src/broker-cluster.ts'
import type { Attempt } from '../../test-cluster/src/broker-client.ts'
import { environment } from './bench-report.ts'

export { BrokerCluster }
export { sleep } from './bench-cluster.ts'

/** One MiB: the "1 MiB batch" of the throughput and recovery figures. */
export const MIB = 1024 * 1024
/** Value bytes of each record of a large batch (Kafka's perf tool uses records of about 1 KB). */
export const LARGE_BATCH_RECORD_BYTES = 1000

/** A positive integer flag value (throws with the flag's name otherwise). */
export function intFlag(values: Readonly<Record<string, unknown>>, name: string): number {
  const n = Number(values[name])
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, not ${String(values[name])}`)
  return n
}

/**
 * N combined nodes in a `trib-bench-` temp dir, each with `overrides`. A Ctrl-C (SIGINT) or
 * SIGTERM of the benchmark kills the nodes and removes the directory before exiting: the
 * nodes keep running when their stdout reader goes away, so they would outlive us otherwise.
 */
export async function startBrokerBench(size: number, overrides: readonly string[], startTimeoutMs = 60_000): Promise<BrokerCluster> {
  const cluster = await BrokerCluster.start({ size, overrides, dirPrefix: 'trib-bench-', startTimeoutMs })
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`${signal}: stopping the cluster`)
    void cluster.close().finally(() => process.exit(130))
  }
  // close() may then run twice (here and in the benchmark's finally): the second finds nothing to do.
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  return cluster
}

/**
 * One RecordBatch v2 of at most `maxBytes` (1 MiB by default) made of records with
 * LARGE_BATCH_RECORD_BYTES-byte values, encoded once and sent many times (the broker stamps
 * offsets into its own copy). Values are pseudo-random so that nothing compresses them.
 */
export function largeBatch(maxBytes = MIB): Buffer {
  const value = Buffer.alloc(LARGE_BATCH_RECORD_BYTES)
  let x = 0x9e3779b9
  for (let i = 0; i < value.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    value[i] = x >>> 24
  }
  const now = BigInt(Date.now())
  const build = (n: number): Buffer => encodeRecordBatch({ records: Array.from({ length: n }, () => ({ key: null, value, timestamp: now })) })
  let n = Math.floor(maxBytes / (LARGE_BATCH_RECORD_BYTES + 8))
  let batch = build(n)
  while (batch.length > maxBytes && n > 1) batch = build(--n)
  return batch
}

/** "NOT_LEADER_OR_FOLLOWER x3, UNAVAILABLE x1", or "none". */
export function formatErrorNames(attempts: readonly Attempt[]): string {
  const counts = new Map<string, number>()
  for (const a of attempts) counts.set(a.name, (counts.get(a.name) ?? 0) + 1)
  return counts.size === 0 ? 'none' : [...counts].map(([n, c]) => `${n} x${c}`).join(', ')
}

export function countByName(attempts: readonly Attempt[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const a of attempts) out[a.name] = (out[a.name] ?? 0) + 1
  return out
}

/** Prints the environment block every broker benchmark starts with. */
export function printEnvironment(title: string, settings: Record<string, string | number | boolean>): void {
  console.log(title)
  for (const [k, v] of Object.entries(environment())) console.log(`  ${k.padEnd(28)} ${v}`)
  for (const [k, v] of Object.entries(settings)) console.log(`  ${k.padEnd(28)} ${v}`)
  console.log('  note: 2-core machine shared by every process of the cluster and the client; compare figures within one run')
}

export function seconds(ms: number | null): string {
  return ms === null ? '-' : `${(ms / 1000).toFixed(2)} s`
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux). */
const USER_HZ = 100

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; null if unreadable. */
export async function cpuSeconds(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ
  } catch {
    return null
  }
}

/** CPU seconds used by every running node of the cluster and by this process, keyed "node N" and "client". */
export async function clusterCpu(cluster: BrokerCluster): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const id of cluster.runningIds()) {
    const s = await cpuSeconds(cluster.processes.pid(id))
    if (s !== null) out[`node ${id}`] = s
  }
  const own = process.cpuUsage()
  out.client = (own.user + own.system) / 1e6
  return out
}

/** "node 1 0.92, node 2 0.55, client 0.20 (total 1.67 of 2 cores)": cores used between two clusterCpu samples. */
export function formatCpu(before: Record<string, number>, after: Record<string, number>, elapsedMs: number): string {
  const parts: string[] = []
  let total = 0
  for (const [k, v] of Object.entries(after)) {
    const cores = (v - (before[k] ?? v)) / (elapsedMs / 1000)
    total += cores
    parts.push(`${k} ${cores.toFixed(2)}`)
  }
  return `${parts.join(', ')} (total ${total.toFixed(2)} cores)`
}
