import { describe, expect, it } from 'vitest'
import { CONSUMER_HEADER, formatConsumerDate, formatConsumerFinal, formatEndToEndFinal, formatProducerFinal, formatProducerProgress, mbPerSec, perSec } from './perf-format.js'
import type { ConsumerPerfResult, EndToEndResult, ProducerPerfResult } from './perf-result.js'

const latency = { count: 1000, avgMs: 3.456, p50Ms: 2.5, p95Ms: 7.25, p99Ms: 12.5, p999Ms: 40.125, maxMs: 41 }

describe('perf tool lines (Kafka-shaped)', () => {
  it('rates: per second, MB = 10^6 bytes', () => {
    expect(perSec(500, 250)).toBe(2000)
    expect(mbPerSec(3_000_000, 1500)).toBe(2)
    expect(perSec(5, 0)).toBe(0)
  })

  it('progress line as ProducerPerformance prints it', () => {
    expect(formatProducerProgress({ records: 50_000, bytes: 5_000_000, elapsedMs: 5000, avgMs: 3.21, maxMs: 120 })).toBe('50000 records sent, 10000.0 records/sec (1.00 MB/sec), 3.2 ms avg latency, 120.0 ms max latency.')
    expect(formatProducerProgress({ records: 0, bytes: 0, elapsedMs: 5000, avgMs: null, maxMs: null })).toBe('0 records sent, 0.0 records/sec (0.00 MB/sec), - ms avg latency, - ms max latency.')
  })

  it('final line with fractional-millisecond percentiles, and failures said', () => {
    const r: ProducerPerfResult = {
      tool: 'producer-perf-test', topic: 't', recordSize: 100, records: 1000, failed: 0, elapsedMs: 100, recordsPerSec: 10_000, mbPerSec: 1,
      latency, throughput: -1, recordsPerSend: 1, sendsInFlight: 10, warmupRecords: 0, producerOptions: {}, retries: 0, firstError: null,
    }
    expect(formatProducerFinal(r)).toBe('1000 records sent, 10000.0 records/sec (1.00 MB/sec), 3.46 ms avg latency, 41.00 ms max latency, 2.50 ms 50th, 7.25 ms 95th, 12.50 ms 99th, 40.13 ms 99.9th.')
    expect(formatProducerFinal({ ...r, failed: 5, firstError: 'NOT_ENOUGH_REPLICAS' })).toMatch(/ 5 records failed \(first: NOT_ENOUGH_REPLICAS\)\.$/)
  })

  it("consumer summary under Kafka's header, ten columns", () => {
    const r: ConsumerPerfResult = {
      tool: 'consumer-perf-test', topic: 't', group: 'g', records: 1_000_000, bytes: 100_000_000, elapsedMs: 10_000, rebalanceMs: 2000, fetchMs: 8000,
      recordsPerSec: 100_000, mbPerSec: 10, fetchRecordsPerSec: 125_000, fetchMbPerSec: 12.5, timedOut: false,
    }
    const start = new Date(2024, 0, 2, 3, 4, 5, 6).getTime()
    const line = formatConsumerFinal(r, start)
    expect(line.split(', ')).toHaveLength(CONSUMER_HEADER.split(', ').length)
    expect(line).toBe('2024-01-02 03:04:05:006, 2024-01-02 03:04:15:006, 100.0000, 10.0000, 1000000, 100000.0000, 2000, 8000, 12.5000, 125000.0000')
    expect(formatConsumerDate(start)).toBe('2024-01-02 03:04:05:006')
  })

  it('end-to-end line says what was not received', () => {
    const r: EndToEndResult = {
      tool: 'end-to-end-latency', topic: 't', recordSize: 100, throughput: 10_000, sent: 100, received: 98, elapsedMs: 10, recordsPerSec: 10_000,
      endToEnd: latency, ack: latency, producerOptions: {}, timedOut: true,
    }
    expect(formatEndToEndFinal(r)).toBe(
      '100 records sent at 10000.0 records/sec, 98 received (2 not received: timed out). ' +
        'end-to-end: avg 3.46 ms, p50 2.50 ms, p99 12.50 ms, p99.9 40.13 ms, max 41.00 ms. ack: avg 3.46 ms, p50 2.50 ms, p99 12.50 ms, p99.9 40.13 ms, max 41.00 ms.',
    )
  })
})
