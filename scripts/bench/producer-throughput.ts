/**
 * Producer speed (issue 4's third figure): records/s of 100-byte records with acks=all
 * through one @tributary/client Producer (idempotent, defaults otherwise: lingerMs 5,
 * batchBytes 16 KiB, 5 requests in flight per partition) against three combined
 * `trib server` processes on loopback, RF 3, min.insync.replicas 2. The benchmark keeps
 * --concurrency send() calls of --records-per-send records in flight; after --warmup-s
 * seconds it counts acknowledged records for --seconds seconds. A figure only: targets
 * belong to the performance issue.
 *   node_modules/.bin/node scripts/bench/producer-throughput.ts [--seconds 10] [--warmup-s 2]
 *     [--partitions 3] [--concurrency 8] [--records-per-send 100] [--record-bytes 100]
 *     [--linger-ms 5] [--batch-bytes 16384] [--override key=value ...]
 */
import { performance } from 'node:perf_hooks'
import { Client } from '@tributary/client'
import { clusterCpu, formatCpu, intFlag, printEnvironment, startBrokerBench } from './broker-bench.ts'
import { benchArgs, environment, formatSummary, summarize, writeResult } from './bench-report.ts'

const TOPIC = 'producer-throughput'

const { values } = benchArgs('The SDK producer, acks=all, RF 3, fixed-size records: records/s and latency.', {
  options: {
    seconds: { type: 'string', default: '10' },
    'warmup-s': { type: 'string', default: '2' },
    partitions: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '8' },
    'records-per-send': { type: 'string', default: '100' },
    'record-bytes': { type: 'string', default: '100' },
    'linger-ms': { type: 'string', default: '5' },
    'batch-bytes': { type: 'string', default: '16384' },
    override: { type: 'string', multiple: true, default: [] },
  },
})
const seconds = intFlag(values, 'seconds')
const warmupS = intFlag(values, 'warmup-s')
const partitions = intFlag(values, 'partitions')
const concurrency = intFlag(values, 'concurrency')
const recordsPerSend = intFlag(values, 'records-per-send')
const recordBytes = intFlag(values, 'record-bytes')
const lingerMs = intFlag(values, 'linger-ms')
const batchBytes = intFlag(values, 'batch-bytes')

printEnvironment('producer throughput', { seconds, warmupS, partitions, concurrency, recordsPerSend, recordBytes, lingerMs, batchBytes })
const cluster = await startBrokerBench(3, values.override)
const client = new Client({ bootstrap: cluster.bootstrap(), clientId: 'producer-bench' })
try {
  await client.admin().createTopics([{ name: TOPIC, partitions, replicationFactor: 3 }])
  const producer = client.producer({ acks: 'all', lingerMs, batchBytes })
  const value = Buffer.alloc(recordBytes, 'x')
  const records = Array.from({ length: recordsPerSend }, () => ({ value }))
  const startedAt = performance.now()
  const measureFrom = startedAt + warmupS * 1000
  const measureUntil = measureFrom + seconds * 1000
  let acked = 0
  let failed = 0
  const latencies: number[] = []
  let cpuBefore: Record<string, number> | null = null
  const worker = async (): Promise<void> => {
    while (performance.now() < measureUntil) {
      const t0 = performance.now()
      try {
        await producer.send(TOPIC, records)
        const t1 = performance.now()
        if (t0 >= measureFrom && t1 <= measureUntil) {
          acked += records.length
          latencies.push(t1 - t0)
        }
      } catch {
        failed++
      }
    }
  }
  setTimeout(() => void clusterCpu(cluster).then((c) => (cpuBefore = c)), warmupS * 1000)
  await Promise.all(Array.from({ length: concurrency }, worker))
  const cpuAfter = await clusterCpu(cluster)
  await producer.flush()
  const recordsPerS = acked / seconds
  const latency = summarize(latencies.sort((a, b) => a - b))
  console.log(`acknowledged ${acked} records in ${seconds} s: ${Math.round(recordsPerS)} records/s (${((recordsPerS * recordBytes) / 1e6).toFixed(1)} MB/s of values), failed sends ${failed}, batches resent ${producer.stats.retries}, producer id resets ${producer.stats.producerIdResets}`)
  console.log(formatSummary(`send() latency (${recordsPerSend} records)`, latency))
  if (cpuBefore !== null) console.log(`cpu: ${formatCpu(cpuBefore, cpuAfter, seconds * 1000)}`)
  const file = await writeResult('producer-throughput', { environment: environment(), seconds, partitions, concurrency, recordsPerSend, recordBytes, lingerMs, batchBytes, acked, recordsPerS, failed, latency })
  console.log(`result: ${file}`)
} finally {
  await client.close()
  await cluster.close()
}
