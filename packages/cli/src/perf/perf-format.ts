/**
 * The perf tools' text lines, shaped like Kafka's (ProducerPerformance.Stats,
 * ConsumerPerformance's CSV-ish lines) so a reader of Kafka's output reads these. Pure.
 *
 * Two deliberate differences: MB is 10^6 bytes (Kafka divides by 1024*1024 but prints
 * "MB"), and percentiles keep two decimals of a millisecond (Kafka truncates them to whole
 * milliseconds, which hides every sub-millisecond figure).
 */
import type { ConsumerPerfResult, EndToEndResult, LatencyFigures, ProducerPerfResult } from './perf-result.js'

export const BYTES_PER_MB = 1_000_000

export function perSec(count: number, elapsedMs: number): number {
  return elapsedMs <= 0 ? 0 : (count * 1000) / elapsedMs
}

export function mbPerSec(bytes: number, elapsedMs: number): number {
  return perSec(bytes, elapsedMs) / BYTES_PER_MB
}

function fixed(value: number | null, digits: number): string {
  return value === null ? '-' : value.toFixed(digits)
}

/** Kafka's periodic line: "N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency." */
export function formatProducerProgress(w: { readonly records: number; readonly bytes: number; readonly elapsedMs: number; readonly avgMs: number | null; readonly maxMs: number | null }): string {
  return `${w.records} records sent, ${perSec(w.records, w.elapsedMs).toFixed(1)} records/sec (${mbPerSec(w.bytes, w.elapsedMs).toFixed(2)} MB/sec), ${fixed(w.avgMs, 1)} ms avg latency, ${fixed(w.maxMs, 1)} ms max latency.`
}

/** Kafka's final line, with p50/p95/p99/p99.9 in fractional milliseconds. */
export function formatProducerFinal(r: ProducerPerfResult): string {
  const l = r.latency
  const failed = r.failed > 0 ? ` ${r.failed} records failed (first: ${r.firstError ?? 'unknown'}).` : ''
  return (
    `${r.records} records sent, ${r.recordsPerSec.toFixed(1)} records/sec (${r.mbPerSec.toFixed(2)} MB/sec), ` +
    `${fixed(l.avgMs, 2)} ms avg latency, ${fixed(l.maxMs, 2)} ms max latency, ` +
    `${fixed(l.p50Ms, 2)} ms 50th, ${fixed(l.p95Ms, 2)} ms 95th, ${fixed(l.p99Ms, 2)} ms 99th, ${fixed(l.p999Ms, 2)} ms 99.9th.${failed}`
  )
}

/** Kafka's consumer date format, yyyy-MM-dd HH:mm:ss:SSS, in local time. */
export function formatConsumerDate(epochMs: number): string {
  const d = new Date(epochMs)
  const p = (n: number, w = 2): string => String(n).padStart(w, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}:${p(d.getMilliseconds(), 3)}`
}

export const CONSUMER_HEADER = 'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec'
export const CONSUMER_DETAILED_HEADER = 'time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec'

/** Kafka's summary line under CONSUMER_HEADER. */
export function formatConsumerFinal(r: ConsumerPerfResult, startEpochMs: number): string {
  return [
    formatConsumerDate(startEpochMs),
    formatConsumerDate(startEpochMs + r.elapsedMs),
    (r.bytes / BYTES_PER_MB).toFixed(4),
    r.mbPerSec.toFixed(4),
    String(r.records),
    r.recordsPerSec.toFixed(4),
    String(Math.round(r.rebalanceMs)),
    String(Math.round(r.fetchMs)),
    r.fetchMbPerSec.toFixed(4),
    r.fetchRecordsPerSec.toFixed(4),
  ].join(', ')
}

/** Kafka's --show-detailed-stats line for one reporting interval (thread id 0: one consumer). */
export function formatConsumerInterval(w: { readonly atEpochMs: number; readonly totalRecords: number; readonly totalBytes: number; readonly records: number; readonly bytes: number; readonly elapsedMs: number; readonly rebalanceMs: number }): string {
  return [
    formatConsumerDate(w.atEpochMs),
    '0',
    (w.totalBytes / BYTES_PER_MB).toFixed(4),
    mbPerSec(w.bytes, w.elapsedMs).toFixed(4),
    String(w.totalRecords),
    perSec(w.records, w.elapsedMs).toFixed(4),
    String(Math.round(w.rebalanceMs)),
    String(Math.round(w.elapsedMs)),
    mbPerSec(w.bytes, w.elapsedMs).toFixed(4),
    perSec(w.records, w.elapsedMs).toFixed(4),
  ].join(', ')
}

export function formatLatencyFigures(l: LatencyFigures): string {
  return `avg ${fixed(l.avgMs, 2)} ms, p50 ${fixed(l.p50Ms, 2)} ms, p99 ${fixed(l.p99Ms, 2)} ms, p99.9 ${fixed(l.p999Ms, 2)} ms, max ${fixed(l.maxMs, 2)} ms`
}

export function formatEndToEndFinal(r: EndToEndResult): string {
  const missing = r.received < r.sent ? ` (${r.sent - r.received} not received${r.timedOut ? ': timed out' : ''})` : ''
  return (
    `${r.sent} records sent at ${r.recordsPerSec.toFixed(1)} records/sec, ${r.received} received${missing}. ` +
    `end-to-end: ${formatLatencyFigures(r.endToEnd)}. ack: ${formatLatencyFigures(r.ack)}.`
  )
}
