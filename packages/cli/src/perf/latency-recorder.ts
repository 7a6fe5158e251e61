/**
 * LatencyRecorder: latencies in an HDR histogram (3 significant digits, microsecond units),
 * so percentiles of millions of samples cost constant memory and every reported figure is
 * within 0.1% of a measured value. Kafka's ProducerPerformance samples latencies instead;
 * a histogram keeps them all.
 */
import { build, type Histogram } from 'hdr-histogram-js'
import type { LatencyFigures } from './perf-result.js'

/** Values are recorded in microseconds: sub-millisecond latencies keep their resolution. */
const US_PER_MS = 1000

export class LatencyRecorder {
  private readonly histogram: Histogram = build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, autoResize: true })
  /** Kept exactly: the histogram only knows the max to 3 significant digits. */
  private maxMs = 0

  /** Records `count` samples of `latencyMs` (a send() of `count` records answered at once). */
  record(latencyMs: number, count = 1): void {
    if (count <= 0) return
    if (latencyMs > this.maxMs) this.maxMs = latencyMs
    this.histogram.recordValueWithCount(Math.max(1, Math.round(latencyMs * US_PER_MS)), count)
  }

  get count(): number {
    return this.histogram.totalCount
  }

  /** Milliseconds; null figures: nothing was recorded. */
  summary(): LatencyFigures {
    const h = this.histogram
    if (h.totalCount === 0) return { count: 0, avgMs: null, p50Ms: null, p95Ms: null, p99Ms: null, p999Ms: null, maxMs: null }
    const maxMs = this.maxMs
    // A percentile is its bucket's highest equivalent value, which can pass the (exact) max.
    const at = (p: number): number => Math.min(h.getValueAtPercentile(p) / US_PER_MS, maxMs)
    return {
      count: h.totalCount,
      avgMs: h.mean / US_PER_MS,
      p50Ms: at(50),
      p95Ms: at(95),
      p99Ms: at(99),
      p999Ms: at(99.9),
      maxMs,
    }
  }

  reset(): void {
    this.histogram.reset()
    this.maxMs = 0
  }
}
