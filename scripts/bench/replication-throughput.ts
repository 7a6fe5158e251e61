/**
 * Raw replication throughput benchmark (issue 3's fourth figure): 1 MiB batches, acks=all,
 * RF 3, in fsync mode (the default: a replica fsyncs before it counts toward the high
 * watermark, one group-commit fsync per round) and in Kafka's page-cache mode.
 *
 * For each mode, a fresh cluster of three combined `trib server` processes on loopback and a
 * topic of --partitions partitions (RF 3, min.insync.replicas 2; leaders spread over the
 * nodes). --producers senders each keep one 1 MiB batch in flight (send, wait for the
 * acknowledgment, send the next), round-robin over the partitions. After --warmup-s seconds,
 * acknowledged bytes are counted for --seconds seconds. Printed per mode: MB/s (10^6 bytes)
 * and MiB/s of acknowledged batches, batches/s, and acknowledgment latency. Both modes run
 * in one invocation, alternating for --rounds rounds (fsync, page-cache, fsync, ...), so they
 * compare on the same machine under the same background load; the summary gives each
 * mode's median and best round.
 *
 *   node_modules/.bin/node scripts/bench/replication-throughput.ts [--seconds 15] [--warmup-s 3]
 *     [--partitions 3] [--producers 4] [--modes fsync,page-cache] [--rounds 2]
 *     [--page-cache-override log.flush.policy=page-cache] [--override key=value ...] [--keep-dirs]
 */
import { performance } from 'node:perf_hooks'
import type { BrokerClient } from '../../test-cluster/src/broker-client.ts'
import { clusterCpu, formatCpu, formatErrorNames, intFlag, largeBatch, MIB, printEnvironment, sleep, startBrokerBench } from './broker-bench.ts'
import { benchArgs, bytes, environment, formatSummary, summarize, writeResult, type Summary } from './bench-report.ts'

const TOPIC = 'throughput'
/** The server key and value that select Kafka's page-cache mode (server-config.ts). */
const PAGE_CACHE_OVERRIDE = 'log.flush.policy=page-cache'

type Mode = 'fsync' | 'page-cache'

interface Options {
  readonly seconds: number
  readonly warmupS: number
  readonly partitions: number
  readonly producers: number
  readonly modes: readonly Mode[]
  readonly rounds: number
  readonly pageCacheOverride: string
  readonly overrides: readonly string[]
  readonly keepDirs: boolean
}

interface ModeResult {
  readonly mode: Mode
  readonly round: number
  readonly batchBytes: number
  readonly ackedBatches: number
  readonly ackedBytes: number
  readonly measuredMs: number
  readonly mbPerS: number
  readonly mibPerS: number
  readonly batchesPerS: number
  readonly latency: Summary | null
  readonly failedSends: number
  readonly retriedErrors: string
  /** Cores used by each node and the client while measuring. */
  readonly cpu: string
  readonly error: string | null
}

function parseOptions(): Options {
  const { values } = benchArgs('1 MiB batches, acks=all, RF 3, in fsync and page-cache mode: MB/s.', {
    options: {
      seconds: { type: 'string', default: '15' },
      'warmup-s': { type: 'string', default: '3' },
      partitions: { type: 'string', default: '3' },
      producers: { type: 'string', default: '4' },
      modes: { type: 'string', default: 'fsync,page-cache' },
      rounds: { type: 'string', default: '2' },
      'page-cache-override': { type: 'string', default: PAGE_CACHE_OVERRIDE },
      override: { type: 'string', multiple: true, default: [] },
      'keep-dirs': { type: 'boolean', default: false },
    },
    strict: true,
  })
  const modes = values.modes.split(',').map((m) => m.trim())
  for (const m of modes) if (m !== 'fsync' && m !== 'page-cache') throw new Error(`--modes lists fsync and page-cache, not ${m}`)
  return {
    seconds: intFlag(values, 'seconds'),
    warmupS: Number(values['warmup-s']),
    partitions: intFlag(values, 'partitions'),
    producers: intFlag(values, 'producers'),
    modes: modes as Mode[],
    rounds: intFlag(values, 'rounds'),
    pageCacheOverride: values['page-cache-override'],
    overrides: values.override,
    keepDirs: values['keep-dirs'],
  }
}

async function runMode(mode: Mode, round: number, options: Options, batch: Buffer): Promise<ModeResult> {
  const overrides = mode === 'page-cache' ? [...options.overrides, options.pageCacheOverride] : options.overrides
  const cluster = await startBrokerBench(3, overrides)
  let ackedBatches = 0
  let ackedBytes = 0
  let failedSends = 0
  const latencies: number[] = []
  let measuredMs = 0
  let error: string | null = null
  let cpu = ''
  const clients: BrokerClient[] = []
  try {
    await cluster.createTopic(TOPIC, { partitions: options.partitions, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }, 30_000)
    for (let p = 0; p < options.partitions; p++) await cluster.waitForIsr(TOPIC, p, cluster.ids, 30_000)
    const t0 = performance.now()
    const measureFrom = t0 + options.warmupS * 1000
    const measureUntil = measureFrom + options.seconds * 1000
    let next = 0
    const worker = async (): Promise<void> => {
      const client = cluster.client({ callTimeoutMs: 30_000 })
      clients.push(client)
      while (performance.now() < measureUntil) {
        const partition = next++ % options.partitions
        const sentAt = performance.now()
        try {
          const ack = await client.produceBatch(TOPIC, partition, batch, { requestTimeoutMs: 30_000, deliveryTimeoutMs: 60_000 })
          if (sentAt >= measureFrom && ack.ackedAtMs <= measureUntil) {
            ackedBatches++
            ackedBytes += batch.length
            latencies.push(ack.ackedAtMs - sentAt)
          }
        } catch {
          failedSends++
        }
      }
    }
    const sampleCpu = async (): Promise<void> => {
      await sleep(Math.max(0, measureFrom - performance.now()))
      const before = await clusterCpu(cluster)
      await sleep(Math.max(0, measureUntil - performance.now()))
      cpu = formatCpu(before, await clusterCpu(cluster), options.seconds * 1000)
    }
    await Promise.all([...Array.from({ length: options.producers }, worker), sampleCpu()])
    measuredMs = options.seconds * 1000
  } catch (err) {
    error = err instanceof Error ? err.message : String(err)
    console.error(cluster.dump())
  } finally {
    await cluster.close({ keepDirs: options.keepDirs })
  }
  const retried = clients.flatMap((c) => c.attempts.filter((a) => a.op === 'produce' && a.outcome !== 'ok'))
  const perS = measuredMs > 0 ? 1000 / measuredMs : 0
  return {
    mode,
    round,
    batchBytes: batch.length,
    ackedBatches,
    ackedBytes,
    measuredMs,
    mbPerS: (ackedBytes / 1e6) * perS,
    mibPerS: (ackedBytes / MIB) * perS,
    batchesPerS: ackedBatches * perS,
    latency: summarize(latencies),
    failedSends,
    retriedErrors: formatErrorNames(retried),
    cpu,
    error,
  }
}

function modeLine(r: ModeResult): string {
  if (r.error !== null) return `${r.mode.padEnd(10)} round ${r.round}: FAILED: ${r.error}`
  return `${r.mode.padEnd(10)} round ${r.round}: ${r.mbPerS.toFixed(1).padStart(7)} MB/s (${r.mibPerS.toFixed(1)} MiB/s), ${r.batchesPerS.toFixed(1)} batches/s, ` +
    `${r.ackedBatches} batches acknowledged in ${(r.measuredMs / 1000).toFixed(0)} s; failed sends ${r.failedSends}; retried errors: ${r.retriedErrors}; ` +
    `cores used: ${r.cpu}`
}

async function main(): Promise<void> {
  const options = parseOptions()
  const batch = largeBatch()
  printEnvironment(`replication throughput: 3 combined nodes, topic ${TOPIC} (${options.partitions} partitions, RF 3, min.insync.replicas 2), acks=all, ${bytes(batch.length)} batches, ${options.producers} producers with one batch in flight each`, {
    'measured seconds per mode': options.seconds,
    'warm-up seconds': options.warmupS,
    modes: options.modes.join(', '),
    'page-cache override': options.pageCacheOverride,
    overrides: options.overrides.join(' ') || 'none (server defaults)',
  })
  const started = new Date().toISOString()
  const results: ModeResult[] = []
  for (let round = 1; round <= options.rounds; round++) {
    for (const mode of options.modes) {
      console.log(`running ${mode} mode, round ${round}/${options.rounds}...`)
      const r = await runMode(mode, round, options, batch)
      results.push(r)
      console.log(modeLine(r))
      console.log(formatSummary(`  ${mode} acknowledgment latency`, r.latency))
    }
  }
  console.log('')
  console.log('==== replication throughput: summary ====')
  for (const r of results) console.log(modeLine(r))
  const perMode = new Map<Mode, Summary | null>()
  for (const mode of options.modes) {
    const ok = results.filter((r) => r.mode === mode && r.error === null)
    const s = summarize(ok.map((r) => r.mbPerS))
    perMode.set(mode, s)
    const latency = summarize(ok.flatMap((r) => (r.latency === null ? [] : [r.latency.median])))
    console.log(s === null ? `${mode}: no successful round` : `${mode.padEnd(10)} median of ${s.count} rounds ${s.median.toFixed(1)} MB/s, best ${s.max.toFixed(1)} MB/s, worst ${s.min.toFixed(1)} MB/s; median ack latency ${latency === null ? '-' : `${latency.median.toFixed(1)} ms`}`)
  }
  const fsync = perMode.get('fsync')
  const pageCache = perMode.get('page-cache')
  if (fsync !== null && fsync !== undefined && pageCache !== null && pageCache !== undefined && fsync.median > 0) {
    console.log(`page-cache / fsync (medians): ${(pageCache.median / fsync.median).toFixed(2)}x`)
  }
  if (results.some((r) => r.error !== null)) process.exitCode = 1
  const path = await writeResult('replication-throughput', { benchmark: 'replication-throughput', started, environment: environment(), options, results })
  console.log(`result: ${path}`)
}

await main()
