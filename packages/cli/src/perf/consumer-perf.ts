/**
 * The consumer perf run (Kafka's ConsumerPerformance): one group member subscribes to the
 * topic and reads `messages` records (or stops once `timeoutMs` passes without a record).
 * Bytes are key + value sizes, as Kafka counts them. rebalanceMs is the time from the start
 * until the group assigned partitions; the fetch figures leave it out, as Kafka's
 * fetch.* columns do.
 */
import { performance } from 'node:perf_hooks'
import type { Consumer } from '@tributary/client'
import { formatConsumerInterval, mbPerSec, perSec } from './perf-format.js'
import { CONSUMER_WATCH_INTERVAL_MS } from './perf-limits.js'
import type { ConsumerPerfResult } from './perf-result.js'

export interface ConsumerPerfOptions {
  readonly topic: string
  readonly group: string
  readonly messages: number
  /** Longest wait between records (and for the first), as Kafka's --timeout. */
  readonly timeoutMs: number
  /** Detailed-stats period; 0 = none. */
  readonly reportingIntervalMs: number
}


export async function runConsumerPerf(consumer: Consumer, o: ConsumerPerfOptions, detailed: ((line: string) => void) | null): Promise<ConsumerPerfResult> {
  const startMs = performance.now()
  let rebalanceMs: number | null = null
  let lastRecordMs = startMs
  let firstRecordMs: number | null = null
  let timedOut = false
  let records = 0
  let bytes = 0
  let win = { records: 0, bytes: 0, startMs }
  let giveUp: () => void = () => undefined
  const gaveUp = new Promise<void>((resolve) => (giveUp = resolve))
  const watch = setInterval(() => {
    const now = performance.now()
    if (rebalanceMs === null && consumer.assignment().length > 0) rebalanceMs = now - startMs
    if (now - lastRecordMs > o.timeoutMs && !timedOut) {
      timedOut = true
      giveUp()
      void consumer.close()
    }
  }, CONSUMER_WATCH_INTERVAL_MS)
  const report = detailed === null || o.reportingIntervalMs <= 0
    ? null
    : setInterval(() => {
        const now = performance.now()
        detailed(formatConsumerInterval({ atEpochMs: Date.now(), totalRecords: records, totalBytes: bytes, records: win.records, bytes: win.bytes, elapsedMs: now - win.startMs, rebalanceMs: rebalanceMs ?? 0 }))
        win = { records: 0, bytes: 0, startMs: now }
      }, o.reportingIntervalMs)
  try {
    // The timeout covers the start too (a cluster that does not answer metadata).
    const subscribed = consumer.subscribe([o.topic])
    subscribed.catch(() => undefined)
    await Promise.race([subscribed, gaveUp])
    while (!timedOut && records < o.messages) {
      const polled = await consumer.poll()
      if (polled.length === 0) break
      const take = Math.min(polled.length, o.messages - records)
      let size = 0
      for (let i = 0; i < take; i++) size += (polled[i]!.key?.length ?? 0) + (polled[i]!.value?.length ?? 0)
      records += take
      bytes += size
      win.records += take
      win.bytes += size
      lastRecordMs = performance.now()
      firstRecordMs ??= lastRecordMs
    }
  } finally {
    clearInterval(watch)
    if (report !== null) clearInterval(report)
  }
  const endMs = records > 0 ? lastRecordMs : performance.now()
  const elapsedMs = endMs - startMs
  // A record before the watcher saw the assignment: it was assigned by then.
  const rebalance = Math.min(rebalanceMs ?? elapsedMs, firstRecordMs === null ? elapsedMs : firstRecordMs - startMs)
  const fetchMs = elapsedMs - rebalance
  return {
    tool: 'consumer-perf-test',
    topic: o.topic,
    group: o.group,
    records,
    bytes,
    elapsedMs,
    rebalanceMs: rebalance,
    fetchMs,
    recordsPerSec: perSec(records, elapsedMs),
    mbPerSec: mbPerSec(bytes, elapsedMs),
    fetchRecordsPerSec: perSec(records, fetchMs),
    fetchMbPerSec: mbPerSec(bytes, fetchMs),
    timedOut,
  }
}
