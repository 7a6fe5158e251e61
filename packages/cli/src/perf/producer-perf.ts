/**
 * The producer perf run (Kafka's ProducerPerformance): `numRecords` records of `recordSize`
 * incompressible bytes through one SDK Producer, `recordsPerSend` records per send() call,
 * at most `throughput` records/s (-1: as fast as acknowledgements allow). Each record's
 * latency is from its send() call to its acknowledgement, in an HDR histogram.
 *
 * Kafka's tool calls send() without waiting and is held back only by buffer.memory; here at
 * most `sendsInFlight` send() calls are unanswered at once (by default as many as
 * buffer.memory holds), so the run's memory is bounded and the figure says what was used.
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Producer } from '@tributary/client'
import { oneLine } from '../cli-error.js'
import { LatencyRecorder } from './latency-recorder.js'
import { formatProducerProgress, mbPerSec, perSec } from './perf-format.js'
import type { ProducerPerfResult } from './perf-result.js'
import { THROTTLE_SLACK_MS, YIELD_EVERY_RECORDS } from './perf-limits.js'
import { throttleDelayMs } from './throttle.js'

export interface ProducerPerfOptions {
  readonly topic: string
  readonly numRecords: number
  readonly recordSize: number
  /** Records per second; -1 = unthrottled. */
  readonly throughput: number
  readonly recordsPerSend: number
  /** Unanswered send() calls at once; null = what buffer.memory holds. */
  readonly sendsInFlight: number | null
  /** Sent (in send() calls of recordsPerSend, one at a time) and answered before the measured run; not counted. */
  readonly warmupRecords: number
  /** Progress line period (Kafka's 5 s); 0 = no progress lines. */
  readonly reportingIntervalMs: number
}


/** Pseudo-random (incompressible) bytes, the same for every run. */
export function perfPayload(size: number): Buffer {
  const out = Buffer.alloc(size)
  let x = 0x2545f491
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

/** send() calls in flight when the caller does not say: as many as buffer.memory holds, at least 1. */
export function defaultSendsInFlight(bufferBytes: number, recordsPerSend: number, recordSize: number): number {
  return Math.max(1, Math.floor(bufferBytes / (recordsPerSend * Math.max(1, recordSize))))
}

export async function runProducerPerf(producer: Producer, o: ProducerPerfOptions, progress: (line: string) => void): Promise<ProducerPerfResult> {
  const payload = perfPayload(o.recordSize)
  const fullChunk = Array.from({ length: o.recordsPerSend }, () => ({ value: payload }))
  const window = o.sendsInFlight ?? defaultSendsInFlight(producer.options.bufferBytes, o.recordsPerSend, o.recordSize)
  const latency = new LatencyRecorder()
  for (let warmed = 0; warmed < o.warmupRecords; warmed += o.recordsPerSend) {
    await producer.send(o.topic, fullChunk.slice(0, Math.min(o.recordsPerSend, o.warmupRecords - warmed)))
  }
  let win = { records: 0, latencySumMs: 0, maxMs: 0, startMs: performance.now() }
  let acked = 0
  let failed = 0
  let firstError: string | null = null
  let inFlight = 0
  let wake: (() => void) | null = null
  const settled = (): void => {
    inFlight--
    const w = wake
    wake = null
    w?.()
  }
  const timer = o.reportingIntervalMs > 0
    ? setInterval(() => {
        const now = performance.now()
        progress(formatProducerProgress({ records: win.records, bytes: win.records * o.recordSize, elapsedMs: now - win.startMs, avgMs: win.records === 0 ? null : win.latencySumMs / win.records, maxMs: win.records === 0 ? null : win.maxMs }))
        win = { records: 0, latencySumMs: 0, maxMs: 0, startMs: now }
      }, o.reportingIntervalMs)
    : null
  const startMs = performance.now()
  let sinceYield = 0
  try {
    for (let sent = 0; sent < o.numRecords; ) {
      const delayMs = throttleDelayMs(o.throughput, sent, performance.now() - startMs)
      if (delayMs >= THROTTLE_SLACK_MS) await sleep(delayMs)
      while (inFlight >= window) await new Promise<void>((resolve) => (wake = resolve))
      const n = Math.min(o.recordsPerSend, o.numRecords - sent)
      const records = n === fullChunk.length ? fullChunk : fullChunk.slice(0, n)
      const t0 = performance.now()
      inFlight++
      sent += n
      producer.send(o.topic, records).then(
        () => {
          const ms = performance.now() - t0
          latency.record(ms, n)
          acked += n
          win.records += n
          win.latencySumMs += ms * n
          if (ms > win.maxMs) win.maxMs = ms
          settled()
        },
        (err: unknown) => {
          failed += n
          firstError ??= oneLine(err)
          settled()
        },
      )
      // Unthrottled with room in the window, the loop would never yield: let answers in.
      sinceYield += n
      if (sinceYield >= YIELD_EVERY_RECORDS) {
        sinceYield = 0
        if (inFlight < window) await new Promise<void>((resolve) => setImmediate(resolve))
      }
    }
    while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve))
  } finally {
    if (timer !== null) clearInterval(timer)
  }
  const elapsedMs = performance.now() - startMs
  const { acks, idempotent, lingerMs, batchBytes, bufferBytes, maxInFlight, compression } = producer.options
  return {
    tool: 'producer-perf-test',
    topic: o.topic,
    recordSize: o.recordSize,
    records: acked,
    failed,
    elapsedMs,
    recordsPerSec: perSec(acked, elapsedMs),
    mbPerSec: mbPerSec(acked * o.recordSize, elapsedMs),
    latency: latency.summary(),
    throughput: o.throughput,
    recordsPerSend: o.recordsPerSend,
    sendsInFlight: window,
    warmupRecords: o.warmupRecords,
    producerOptions: { acks: acks === -1 ? 'all' : acks, idempotent, lingerMs, batchBytes, bufferBytes, maxInFlight, compression },
    retries: producer.stats.retries,
    firstError,
  }
}
