/**
 * Recovery benchmark: how long a node holding about 1 GB of partition log takes to serve
 * again after SIGKILL (issue 3's third figure).
 *
 * By default one combined `trib server` process (its own single-voter quorum) and a topic of
 * --partitions partitions with RF 1, so every byte of the log is on the node that is killed
 * and nothing else can serve its partitions. Steps:
 *   1. write --gb GiB in 1 MiB batches (acks=all), --in-flight sends at once, round-robin
 *      over the partitions; note the last acknowledged offset of each partition;
 *   2. SIGKILL the node (its recovery point is whatever the last checkpoint said), restart it
 *      and time from the spawn: the first Metadata answer; Produce (acks=all) acknowledged on
 *      every partition; Fetch of each partition's last acknowledged record; all three = "serves
 *      again";
 *   3. for comparison, stop it cleanly with SIGTERM, restart, and time the same.
 * With --size 3 --replication-factor 3 the killed node is node 1, and "serves again" also
 * waits until it is back in every partition's ISR (the others led meanwhile).
 * It also prints the node's server.log lines about recovery after each restart.
 *
 *   node_modules/.bin/node scripts/bench/recovery.ts [--gb 1] [--partitions 4] [--in-flight 4]
 *     [--size 1] [--replication-factor 1] [--override key=value ...] [--keep-dirs]
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { ErrorCode, readBatchHeader } from '@tributary/protocol'
import type { BrokerClient } from '../../test-cluster/src/broker-client.ts'
import { textRecord } from '../../test-cluster/src/broker-client.ts'
import { intFlag, largeBatch, MIB, printEnvironment, seconds, startBrokerBench, type BrokerCluster } from './broker-bench.ts'
import { serverLogSince, serverLogSize } from './server-log.ts'
import { benchArgs, bytes, environment, ms, reportAborted, writeResult } from './bench-report.ts'

const TOPIC = 'recovery'
const RESTART_TIMEOUT_MS = 300_000
const PROBE_INTERVAL_MS = 10
/** server.log messages worth printing after a restart (recovery, start-up phases). */
const INTERESTING_LOG = /recover|truncat|opened partition|loaded|listening|started|registered|unfenced|leader/i
/** Fields of those lines worth printing. */
const INTERESTING_FIELDS = ['partition', 'recoveredSegments', 'segments', 'cleanShutdown', 'logEndOffset', 'highWatermark', 'producers'] as const

interface Options {
  readonly gib: number
  readonly partitions: number
  readonly inFlight: number
  readonly size: number
  readonly replicationFactor: number
  readonly overrides: readonly string[]
  readonly keepDirs: boolean
}

interface RestartTimes {
  readonly signal: 'SIGKILL' | 'SIGTERM'
  readonly stopMs: number
  /** From the spawn. */
  readonly metadataMs: number | null
  readonly produceMs: number | null
  readonly fetchMs: number | null
  readonly isrMs: number | null
  readonly servesMs: number | null
  readonly logLines: readonly string[]
  readonly error: string | null
}

function parseOptions(): Options {
  const { values } = benchArgs('Write ~--gb GB to a node, SIGKILL it, time until it serves Produce and Fetch again.', {
    options: {
      gb: { type: 'string', default: '1' },
      partitions: { type: 'string', default: '4' },
      'in-flight': { type: 'string', default: '4' },
      size: { type: 'string', default: '1' },
      'replication-factor': { type: 'string', default: '1' },
      override: { type: 'string', multiple: true, default: [] },
      'keep-dirs': { type: 'boolean', default: false },
    },
    strict: true,
  })
  const gib = Number(values.gb)
  if (!Number.isFinite(gib) || gib <= 0) throw new Error(`--gb must be a positive number, not ${values.gb}`)
  const size = intFlag(values, 'size')
  const replicationFactor = intFlag(values, 'replication-factor')
  if (replicationFactor > size) throw new Error(`--replication-factor ${replicationFactor} exceeds --size ${size}`)
  return { gib, partitions: intFlag(values, 'partitions'), inFlight: intFlag(values, 'in-flight'), size, replicationFactor, overrides: values.override, keepDirs: values['keep-dirs'] }
}

/** Writes `totalBytes` of 1 MiB batches; returns the last acknowledged offset per partition. */
async function fill(client: BrokerClient, options: Options, totalBytes: number): Promise<{ lastOffsets: bigint[]; written: number; elapsedMs: number }> {
  const batch = largeBatch()
  const records = BigInt(readBatchHeader(batch).recordCount)
  const lastOffsets = Array.from({ length: options.partitions }, () => -1n)
  let written = 0
  let next = 0
  let reported = 0
  const t0 = performance.now()
  const worker = async (): Promise<void> => {
    while (written < totalBytes) {
      const partition = next++ % options.partitions
      written += batch.length
      const ack = await client.produceBatch(TOPIC, partition, batch, { deliveryTimeoutMs: 60_000, requestTimeoutMs: 30_000 })
      const last = ack.baseOffset + records - 1n
      if (last > lastOffsets[partition]!) lastOffsets[partition] = last
      if (written - reported >= 128 * MIB) {
        reported = written
        const s = (performance.now() - t0) / 1000
        console.log(`  written ${bytes(written)} in ${s.toFixed(1)} s (${(written / MIB / s).toFixed(1)} MiB/s)`)
      }
    }
  }
  await Promise.all(Array.from({ length: options.inFlight }, worker))
  return { lastOffsets, written, elapsedMs: performance.now() - t0 }
}

async function partitionBytes(logDir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(logDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !entry.name.startsWith(`${TOPIC}-`)) continue
    for (const f of await readdir(join(logDir, entry.name))) total += (await stat(join(logDir, entry.name, f))).size
  }
  return total
}

async function restartAndTime(cluster: BrokerCluster, node: number, signal: 'SIGKILL' | 'SIGTERM', lastOffsets: readonly bigint[], options: Options): Promise<RestartTimes> {
  const logFrom = await serverLogSize(cluster.processes.logDir(node))
  const s0 = performance.now()
  await cluster.kill(node, signal)
  const stopMs = performance.now() - s0
  const spawnedAt = cluster.spawn(node)
  const spawnedAtEpochMs = cluster.processes.spawnedAt(node).epochMs
  let metadataMs: number | null = null
  let produceMs: number | null = null
  let fetchMs: number | null = null
  let isrMs: number | null = null
  let error: string | null = null
  // A fresh client: its channels must not carry the old process's backoff.
  const client = cluster.client({ callTimeoutMs: 1000 })
  try {
    const metadata = cluster.timed(async () => {
      const m = await cluster.metadataFrom(node, [TOPIC])
      return m.brokers.some((b) => b.nodeId === node) ? m : null
    }, `node ${node} to answer Metadata`, RESTART_TIMEOUT_MS, PROBE_INTERVAL_MS).then((r) => (metadataMs = r.atMs - spawnedAt))
    const produce = (async () => {
      for (let p = 0; p < options.partitions; p++) {
        await client.produce(TOPIC, p, [textRecord(`after-${signal}`)], { deliveryTimeoutMs: RESTART_TIMEOUT_MS })
      }
      produceMs = performance.now() - spawnedAt
    })()
    const fetch = (async () => {
      for (let p = 0; p < options.partitions; p++) {
        const last = lastOffsets[p]!
        if (last < 0n) continue
        await cluster.timed(async () => {
          const r = await client.fetch(TOPIC, p, last, { maxBytes: 2 * MIB })
          return r.errorCode === ErrorCode.NONE.code && r.records.some((rec) => rec.offset === last) ? r : null
        }, `partition ${p}'s record ${last} to be fetched`, RESTART_TIMEOUT_MS, PROBE_INTERVAL_MS)
      }
      fetchMs = performance.now() - spawnedAt
    })()
    await Promise.all([metadata, produce, fetch])
    if (options.replicationFactor > 1) {
      for (let p = 0; p < options.partitions; p++) await cluster.waitForIsr(TOPIC, p, undefined, RESTART_TIMEOUT_MS)
      isrMs = performance.now() - spawnedAt
    }
  } catch (err) {
    error = err instanceof Error ? err.message : String(err)
  } finally {
    client.close()
  }
  const lines = (await serverLogSince(cluster.processes.logDir(node), logFrom))
    .filter((l) => l.time >= spawnedAtEpochMs && INTERESTING_LOG.test(l.msg))
    .slice(0, 60)
    .map((l) => {
      const fields = INTERESTING_FIELDS.filter((f) => ['string', 'number', 'boolean'].includes(typeof l.fields[f])).map((f) => `${f}=${String(l.fields[f])}`)
      return `    +${l.time - spawnedAtEpochMs} ms ${l.component}: ${l.msg}${fields.length > 0 ? ` (${fields.join(' ')})` : ''}`
    })
  const parts = [metadataMs, produceMs, fetchMs, isrMs]
  const servesMs = error === null ? Math.max(...parts.filter((v): v is number => v !== null)) : null
  return { signal, stopMs, metadataMs, produceMs, fetchMs, isrMs, servesMs, logLines: lines, error }
}

function restartLine(r: RestartTimes): string {
  return `${r.signal}: stopped in ${ms(r.stopMs)}; from the spawn: Metadata ${ms(r.metadataMs)}, Produce on every partition ${ms(r.produceMs)}, ` +
    `Fetch of every last record ${ms(r.fetchMs)}${r.isrMs === null ? '' : `, back in every ISR ${ms(r.isrMs)}`} => serves again after ${seconds(r.servesMs)}` +
    (r.error === null ? '' : ` [${r.error}]`)
}

async function main(): Promise<void> {
  const options = parseOptions()
  const totalBytes = Math.round(options.gib * 1024 * MIB)
  printEnvironment(`recovery: ${options.size} combined node(s), topic ${TOPIC} (${options.partitions} partitions, RF ${options.replicationFactor}), ${options.gib} GiB in 1 MiB batches, ${options.inFlight} in flight, then SIGKILL and restart`, {
    overrides: options.overrides.join(' ') || 'none (server defaults)',
  })
  const cluster = await startBrokerBench(options.size, options.overrides)
  console.log(`cluster up in ${cluster.processes.baseDir}`)
  const started = new Date().toISOString()
  const node = 1
  const results: RestartTimes[] = []
  let written = 0
  let writeMs = 0
  let onDisk = 0
  try {
    const minIsr = Math.min(2, options.replicationFactor)
    await cluster.createTopic(TOPIC, { partitions: options.partitions, replicationFactor: options.replicationFactor, configs: { 'min.insync.replicas': String(minIsr) } }, 30_000)
    const client = cluster.client({ callTimeoutMs: 30_000 })
    const filled = await fill(client, options, totalBytes)
    written = filled.written
    writeMs = filled.elapsedMs
    client.close()
    onDisk = await partitionBytes(cluster.processes.logDir(node))
    console.log(`written ${bytes(written)} in ${seconds(writeMs)} (${(written / MIB / (writeMs / 1000)).toFixed(1)} MiB/s); node ${node} holds ${bytes(onDisk)} of partition files`)
    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      const r = await restartAndTime(cluster, node, signal, filled.lastOffsets, options)
      results.push(r)
      console.log(restartLine(r))
      for (const line of r.logLines) console.log(line)
    }
  } catch (err) {
    reportAborted(err, cluster)
  } finally {
    await cluster.close({ keepDirs: options.keepDirs })
  }

  console.log('')
  console.log('==== recovery: summary ====')
  console.log(`log on the killed node: ${(onDisk / 1e9).toFixed(2)} GB (${bytes(onDisk)}) in ${options.partitions} partitions; written at ${(written / MIB / (writeMs / 1000)).toFixed(1)} MiB/s`)
  for (const r of results) console.log(restartLine(r))
  const path = await writeResult('recovery', { benchmark: 'recovery', started, environment: environment(), options, writtenBytes: written, writeMs, onDiskBytes: onDisk, restarts: results })
  console.log(`result: ${path}`)
}

await main()
