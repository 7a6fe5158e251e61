/**
 * The machine-readable results of the perf tools (`--json`: one JSON object on the last line
 * of stdout). scripts/bench/bench.ts reads them, so this file imports nothing and changes
 * only additively. MB means 10^6 bytes everywhere (as NATS's bench), not Kafka's MiB.
 */

export interface LatencyFigures {
  readonly count: number
  readonly avgMs: number | null
  readonly p50Ms: number | null
  readonly p95Ms: number | null
  readonly p99Ms: number | null
  readonly p999Ms: number | null
  readonly maxMs: number | null
}

export interface ProducerPerfResult {
  readonly tool: 'producer-perf-test'
  readonly topic: string
  readonly recordSize: number
  /** Records acknowledged (failed ones are counted in `failed`). */
  readonly records: number
  readonly failed: number
  readonly elapsedMs: number
  readonly recordsPerSec: number
  readonly mbPerSec: number
  /** Per record, from its send() call to its acknowledgement (records of one call share it). */
  readonly latency: LatencyFigures
  /** What was asked: -1 = unthrottled. */
  readonly throughput: number
  readonly recordsPerSend: number
  /** send() calls allowed unanswered at once (by default what buffer.memory holds). */
  readonly sendsInFlight: number
  /** Records sent before the measured ones (not counted). */
  readonly warmupRecords: number
  /** The producer options in force (resolved SDK options: lingerMs, batchBytes, ...). */
  readonly producerOptions: Readonly<Record<string, unknown>>
  /** Batches the producer resent after retriable errors. */
  readonly retries: number
  readonly firstError: string | null
  /** CPU seconds (user + system) the tool's process used, when the command line ran it. */
  readonly processCpuSeconds?: number
}

export interface ConsumerPerfResult {
  readonly tool: 'consumer-perf-test'
  readonly topic: string
  readonly group: string
  readonly records: number
  readonly bytes: number
  /** From start to the last record. */
  readonly elapsedMs: number
  /** From start until the group assigned partitions (Kafka's rebalance.time.ms). */
  readonly rebalanceMs: number
  /** elapsedMs - rebalanceMs (Kafka's fetch.time.ms). */
  readonly fetchMs: number
  readonly recordsPerSec: number
  readonly mbPerSec: number
  readonly fetchRecordsPerSec: number
  readonly fetchMbPerSec: number
  /** The --timeout between records passed before --messages were read. */
  readonly timedOut: boolean
  readonly processCpuSeconds?: number
}

export interface EndToEndResult {
  readonly tool: 'end-to-end-latency'
  readonly topic: string
  readonly recordSize: number
  readonly throughput: number
  /** Records sent and acknowledged one at a time before the measured ones, not counted. */
  readonly warmupRecords: number
  /** Records sent / consumed back in this run. */
  readonly sent: number
  readonly received: number
  readonly elapsedMs: number
  /** The achieved send rate. */
  readonly recordsPerSec: number
  /** From the producer's send() call to the consumer handing the record out (same process, same clock). */
  readonly endToEnd: LatencyFigures
  /** From send() to the producer's acknowledgement. */
  readonly ack: LatencyFigures
  readonly producerOptions: Readonly<Record<string, unknown>>
  readonly timedOut: boolean
  readonly processCpuSeconds?: number
}

/** CPU seconds (user + system) this process has used so far. */
export function processCpuSeconds(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

export type PerfResult = ProducerPerfResult | ConsumerPerfResult | EndToEndResult
