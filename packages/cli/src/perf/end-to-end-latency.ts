/**
 * End-to-end latency at a fixed rate: one producer sends `numRecords` records at
 * `throughput` records/s (one record per send(), throttled as Kafka's perf tool), and a
 * consumer in the same process, positioned at the topic's end before the first send, reads
 * them back. A record's end-to-end latency runs from its send() call to the consumer handing
 * it out, both read from this process's monotonic clock (the send time travels in the first
 * 8 bytes of the value), so no clock skew enters. The producer's acknowledgement latency is
 * recorded beside it.
 *
 * Kafka's EndToEndLatency sends one record and waits for it before the next; a fixed rate
 * instead shows the latency a steady stream sees, queueing included.
 */
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Client, ProducerOptions } from '@tributary/client'
import { oneLine } from '../cli-error.js'
import { LatencyRecorder } from './latency-recorder.js'
import { perSec } from './perf-format.js'
import type { EndToEndResult } from './perf-result.js'
import { perfPayload } from './producer-perf.js'
import { THROTTLE_SLACK_MS } from './perf-limits.js'
import { throttleDelayMs } from './throttle.js'

/** Value layout: send time (float64, performance.now() ms), then this run's 8-byte id, then filler. */
export const E2E_HEADER_BYTES = 16

export interface EndToEndOptions {
  readonly topic: string
  readonly numRecords: number
  readonly recordSize: number
  readonly throughput: number
  readonly producer: ProducerOptions
  /** Give up this long after the last send if records are still missing. */
  readonly timeoutMs: number
  /** Records sent one at a time, each acknowledged, before the measured ones (read back and not counted). */
  readonly warmupRecords?: number
}

export async function runEndToEnd(client: Client, o: EndToEndOptions): Promise<EndToEndResult> {
  if (o.recordSize < E2E_HEADER_BYTES) throw new RangeError(`record size must be at least ${E2E_HEADER_BYTES} bytes (send time and run id)`)
  const runId = randomBytes(8)
  const filler = perfPayload(o.recordSize)
  const endToEnd = new LatencyRecorder()
  const ack = new LatencyRecorder()

  // The consumer starts at the end of every partition, fixed before the first send.
  const ends = await client.admin().listOffsets(o.topic, 'latest')
  const consumer = client.consumer({})
  consumer.assign(ends.map((e) => ({ topic: o.topic, partition: e.partition })))
  for (const e of ends) consumer.seek(o.topic, e.partition, e.offset)
  let received = 0
  let allReceived: () => void = () => undefined
  const done = new Promise<void>((resolve) => (allReceived = resolve))
  const reading = (async () => {
    for (;;) {
      const records = await consumer.poll()
      if (records.length === 0) return
      const now = performance.now()
      for (const r of records) {
        const v = r.value
        if (v === null || v.length < E2E_HEADER_BYTES || !v.subarray(8, 16).equals(runId)) continue
        endToEnd.record(now - v.readDoubleLE(0))
        if (++received === o.numRecords) allReceived()
      }
    }
  })()

  const producer = client.producer(o.producer)
  // Warm-up records carry no run id, so the reader skips them (they warm its path too).
  const warmup = perfPayload(o.recordSize)
  for (let i = 0; i < (o.warmupRecords ?? 0); i++) await producer.send(o.topic, [{ value: warmup }])
  let failed = 0
  let firstError: string | null = null
  // Sends unanswered, and a wake-up for when none are left: an array of every send's promise
  // kept 200,000 of them alive to the end (promoted, then scanned by every GC of the process
  // whose latency is being measured).
  let unanswered = 0
  let allAnswered: () => void = () => undefined
  const answered = (): void => {
    if (--unanswered === 0) allAnswered()
  }
  const startMs = performance.now()
  for (let sent = 0; sent < o.numRecords; sent++) {
    const delayMs = throttleDelayMs(o.throughput, sent, performance.now() - startMs)
    if (delayMs >= THROTTLE_SLACK_MS) await sleep(delayMs)
    const value = Buffer.allocUnsafe(o.recordSize)
    filler.copy(value, E2E_HEADER_BYTES, E2E_HEADER_BYTES)
    runId.copy(value, 8)
    const t0 = performance.now()
    value.writeDoubleLE(t0, 0)
    unanswered++
    producer.send(o.topic, [{ value }]).then(
      () => {
        ack.record(performance.now() - t0)
        answered()
      },
      (err: unknown) => {
        failed++
        firstError ??= oneLine(err)
        answered()
      },
    )
  }
  const sendEndMs = performance.now()
  if (unanswered > 0) await new Promise<void>((resolve) => (allAnswered = resolve))
  let timer: NodeJS.Timeout | null = null
  const timedOut = await Promise.race([
    done.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), o.timeoutMs))),
  ])
  if (timer !== null) clearTimeout(timer)
  await producer.close()
  await consumer.close()
  await reading.catch(() => undefined)
  if (failed > 0 && received === 0) throw new Error(`no record was acknowledged: ${firstError ?? 'unknown error'}`)
  const { acks: acksOption, idempotent, lingerMs, batchBytes, maxInFlight, compression } = producer.options
  return {
    tool: 'end-to-end-latency',
    topic: o.topic,
    recordSize: o.recordSize,
    throughput: o.throughput,
    warmupRecords: o.warmupRecords ?? 0,
    sent: o.numRecords - failed,
    received,
    elapsedMs: sendEndMs - startMs,
    recordsPerSec: perSec(o.numRecords, sendEndMs - startMs),
    endToEnd: endToEnd.summary(),
    ack: ack.summary(),
    producerOptions: { acks: acksOption === -1 ? 'all' : acksOption, idempotent, lingerMs, batchBytes, maxInFlight, compression },
    timedOut,
  }
}
