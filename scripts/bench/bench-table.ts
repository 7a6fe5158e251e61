/**
 * The tables `npm run bench` prints, as Markdown (they go into the performance note as
 * they are): Tributary's figures per durability mode, and with a peer, the figures side by
 * side with the ratio Tributary / peer per workload. Pure.
 */
import type { LatencyFigures } from '../../packages/cli/src/perf/perf-result.ts'
import type { NatsResults } from './nats-peer.ts'
import type { TributaryResults, Workload } from './tributary-workloads.ts'

const int = (n: number | null): string => (n === null ? '-' : Math.round(n).toLocaleString('en-US'))
const mb = (n: number | null): string => (n === null ? '-' : n.toFixed(1))
const msf = (n: number | null): string => (n === null ? '-' : n.toFixed(2))
const cores = (n: number | null): string => (n === null ? '-' : n.toFixed(2))
const FAILED = 'failed (see above)'
const SKIPPED = 'skipped'

/** Tributary / peer, "1.23x"; '-' when either is missing. */
export function ratio(ours: number | null, theirs: number | null): string {
  if (ours === null || theirs === null || theirs === 0) return '-'
  return `${(ours / theirs).toFixed(2)}x`
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)]
}

function lat(l: LatencyFigures | null): string {
  return l === null ? '-' : `${msf(l.p50Ms)} / ${msf(l.p99Ms)} / ${msf(l.p999Ms)} / ${msf(l.maxMs)}`
}

/** One row per workload and mode: rates, latency, cores. */
export function tributaryTable(runs: readonly TributaryResults[]): string[] {
  const rows: string[][] = []
  for (const r of runs) {
    const missing = (w: Workload): string => (r.skipped.includes(w) ? SKIPPED : FAILED)
    for (const [name, w, f] of [['produce 100 B', 'produce-100', r.produce100], ['produce 1 KiB', 'produce-1k', r.produce1k], ['consume 100 B', 'consume-100', r.consume100], ['consume 1 KiB', 'consume-1k', r.consume1k]] as const) {
      rows.push(f === null ? [r.mode, name, missing(w), '-', '-', '-', '-', '-'] : [r.mode, name, int(f.records), int(f.recordsPerSec), mb(f.mbPerSec), lat(f.latency), cores(f.serverCores), cores(f.clientCores)])
    }
    const e = r.e2e
    rows.push(e === null ? [r.mode, 'end-to-end @ fixed rate', missing('e2e'), '-', '-', '-', '-', '-'] : [r.mode, 'end-to-end @ fixed rate', int(e.latency.count), int(e.recordsPerSec), '-', lat(e.latency), cores(e.serverCores), cores(e.clientCores)])
    if (e !== null) rows.push([r.mode, '  its produce acks', int(e.ack?.count ?? null), '-', '-', lat(e.ack), '-', '-'])
    const q = r.sequential
    rows.push(q === null ? [r.mode, 'sequential produce (1 in flight)', missing('sequential'), '-', '-', '-', '-', '-'] : [r.mode, 'sequential produce (1 in flight)', int(q.latency.count), int(q.recordsPerSec), '-', lat(q.latency), cores(q.serverCores), cores(q.clientCores)])
  }
  return table(['mode', 'workload', 'records', 'records/s', 'MB/s', 'latency ms p50 / p99 / p99.9 / max', 'server cores', 'client cores'], rows)
}

/**
 * The side-by-side table: each Tributary mode against NATS (default config = page cache).
 * Rates: higher is better; latencies: lower is better (the ratio is still Tributary / NATS).
 */
export function peerTable(runs: readonly TributaryResults[], nats: NatsResults): string[] {
  const fsync = runs.find((r) => r.mode === 'fsync') ?? null
  const page = runs.find((r) => r.mode === 'page-cache') ?? null
  const rows: string[][] = []
  const add = (name: string, ours: (r: TributaryResults) => number | null, theirs: number | null, fmt: (n: number | null) => string): void => {
    const f = fsync === null ? null : ours(fsync)
    const p = page === null ? null : ours(page)
    rows.push([name, fmt(f), fmt(p), fmt(theirs), ratio(f, theirs), ratio(p, theirs)])
  }
  add('produce 100 B, records/s', (r) => r.produce100?.recordsPerSec ?? null, nats.produce100.msgsPerSec, int)
  add('produce 1 KiB, records/s', (r) => r.produce1k?.recordsPerSec ?? null, nats.produce1k.msgsPerSec, int)
  add('produce 1 KiB, MB/s', (r) => r.produce1k?.mbPerSec ?? null, nats.produce1k.MBps, mb)
  add('consume 100 B, records/s', (r) => r.consume100?.recordsPerSec ?? null, nats.consume100.msgsPerSec, int)
  add('consume 1 KiB, MB/s', (r) => r.consume1k?.mbPerSec ?? null, nats.consume1k.MBps, mb)
  add('sequential produce p50, ms (lower is better)', (r) => r.sequential?.latency.p50Ms ?? null, nats.sequential.p50, msf)
  add('sequential produce p99, ms (lower is better)', (r) => r.sequential?.latency.p99Ms ?? null, nats.sequential.p99, msf)
  add('sequential produce p99.9, ms (lower is better)', (r) => r.sequential?.latency.p999Ms ?? null, nats.sequential.p999, msf)
  add('end-to-end p99 at fixed rate vs NATS sequential p99, ms (lower is better)', (r) => r.e2e?.latency.p99Ms ?? null, nats.sequential.p99, msf)
  return table(['workload', 'Tributary fsync', 'Tributary page-cache', 'NATS R3 (page cache)', 'fsync / NATS', 'page-cache / NATS'], rows)
}

/** One line: the cores NATS's servers and client used per throughput workload (bench.mjs's figures). */
export function natsCoresLine(nats: NatsResults): string {
  const f = (name: string, c: { readonly serverCores: number | null; readonly clientCores: number | null }): string => `${name} ${cores(c.serverCores)} / ${cores(c.clientCores)}`
  return `NATS cores (servers / client): ${[f('produce 100 B', nats.produce100), f('produce 1 KiB', nats.produce1k), f(`consume 100 B (batch ${nats.consume100.batch})`, nats.consume100), f(`consume 1 KiB (batch ${nats.consume1k.batch})`, nats.consume1k)].join('; ')}`
}
