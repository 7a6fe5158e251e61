/**
 * `npm run bench -- --peer nats`, the pure parts: reading the peer scripts' RESULT lines and
 * the latency table that pairs Tributary's modes with NATS's durability configs. No cluster.
 */
import { describe, expect, it } from 'vitest'
import type { LatencyFigures } from '../packages/cli/src/perf/perf-result.ts'
import { latencyTargetLines, peerLatencyTable, peerTable } from '../scripts/bench/bench-table.ts'
import { e2eOf, parseResultLines, type NatsE2e, type NatsLatency, type NatsResults } from '../scripts/bench/nats-peer.ts'
import type { FlushPolicy, LatencyFigure, TributaryResults } from '../scripts/bench/tributary-workloads.ts'

const e2eResult = (syncAttrs: readonly string[]): Record<string, unknown> => ({
  kind: 'e2e', sync: 'streams', syncAttrs, consumer: 'push', leader: 'n2', consumerLeader: 'n2', rate: 10000, count: 100, sent: 100, acked: 100, failed: 0, received: 100,
  timedOut: false, sendRate: 10001, ackRate: 3000, serverCores: 0.5, clientCores: 0.1,
  e2e: { n: 100, p50: 1, p99: 4, p999: 5, max: 6, mean: 1.5 }, ack: { n: 100, p50: 0.9, p99: 3, p999: 4, max: 5, mean: 1.2 },
})

const nl = (p99: number): NatsLatency => ({ p50: p99 / 4, p99, p999: p99 * 2, max: p99 * 3, mean: p99 / 3, n: 1000 })
const ne = (p99: number, ackRate: number): NatsE2e => ({ e2e: nl(p99), ack: nl(p99), rate: 10000, sendRate: 10000, ackRate, count: 1000, acked: 1000, failed: 0, received: 1000, timedOut: false, consumer: 'push', consumerOnLeader: true, serverCores: null, clientCores: null })
const lf = (p99Ms: number): LatencyFigures => ({ count: 1000, avgMs: 1, p50Ms: p99Ms / 4, p95Ms: p99Ms / 2, p99Ms, p999Ms: p99Ms * 2, maxMs: p99Ms * 3 })
const fig = (p99Ms: number): LatencyFigure => ({ latency: lf(p99Ms), ack: lf(p99Ms), recordsPerSec: 10000, serverCores: null, clientCores: null, detail: null })
const trib = (mode: FlushPolicy, e2eP99: number, seqP99: number): TributaryResults => ({ mode, produce100: null, produce1k: null, consume100: null, consume1k: null, e2e: fig(e2eP99), sequential: fig(seqP99), errors: [], skipped: ['produce-100', 'produce-1k', 'consume-100', 'consume-1k'] })
const nats = (over: Partial<NatsResults>): NatsResults => ({
  version: 'v2.9.10', produce100: null, produce1k: null, consume100: null, consume1k: null, sequential: nl(1), e2e: ne(2, 9990), syncedProduce100: null, syncedSequential: nl(3), syncedE2e: ne(1000, 3000),
  errors: [], skipped: ['produce100', 'produce1k', 'consume100', 'consume1k', 'syncedProduce100'], raw: [], ...over,
})

describe('parseResultLines', () => {
  it('parses RESULT objects and hands the other non-empty lines on', () => {
    const other: string[] = []
    const r = parseResultLines(['hello', 'RESULT {"kind":"lat","p99":1.5}', '', 'RESULT {"kind":"e2e"}'], (l) => other.push(l))
    expect(r).toEqual([{ kind: 'lat', p99: 1.5 }, { kind: 'e2e' }])
    expect(other).toEqual(['hello'])
  })
  it('rejects a RESULT that is not a JSON object', () => {
    expect(() => parseResultLines(['RESULT [1,2]'])).toThrow(/not a JSON object/)
    expect(() => parseResultLines(['RESULT {oops'])).toThrow()
  })
})

describe('e2eOf', () => {
  it('reads the figures, and a synced run must show every node synchronous', () => {
    const e = e2eOf([e2eResult(['n1:sync', 'n2:sync', 'n3:sync'])], true)
    expect(e.e2e.p99).toBe(4)
    expect(e.ack.p50).toBe(0.9)
    expect(e.ackRate).toBe(3000)
    expect(e.consumerOnLeader).toBe(true)
    expect(() => e2eOf([e2eResult(['n1:sync', 'n2:nosync', 'n3:sync'])], true)).toThrow(/not synchronous/)
    expect(e2eOf([e2eResult(['n1:nosync', 'n2:nosync', 'n3:nosync'])], false).e2e.p50).toBe(1)
    expect(() => e2eOf([{ kind: 'lat' }], false)).toThrow(/no e2e RESULT/)
  })
})

describe('peer latency table', () => {
  const runs = [trib('fsync', 20, 6), trib('page-cache', 4, 2)]
  it('pairs fsync with NATS synced and page-cache with NATS default', () => {
    const lines = peerLatencyTable(runs, nats({}), 10000)
    const p99 = lines.find((l) => l.includes('end-to-end @ 10,000/s p99, ms'))
    // fsync 20 / synced 1000; page-cache 4 / default 2
    expect(p99).toContain('| 20.00 | 1000.00 | 0.02x | 4.00 | 2.00 | 2.00x |')
    expect(lines.find((l) => l.startsWith('| sequential produce p99,'))).toContain('| 6.00 | 3.00 | 2.00x | 2.00 | 1.00 | 2.00x |')
    expect(lines.find((l) => l.startsWith('| produce 100 B'))).toContain('| - | skipped | - | - | skipped | - |')
  })
  it('says failed for a figure that was wanted but is missing', () => {
    const lines = peerLatencyTable(runs, nats({ syncedE2e: null, errors: ['nats syncedE2e: boom'] }), 10000)
    expect(lines.find((l) => l.includes('p99, ms**'))).toContain('| 20.00 | failed (see above) | - |')
  })
  it('judges the issue 7 target and flags a NATS that could not keep the rate', () => {
    const lines = latencyTargetLines(runs, nats({}))
    expect(lines[0]).toMatch(/fsync vs NATS synced: .* = 0\.02x, target <= 2x: met, but only because NATS could not keep the rate/)
    expect(lines[1]).toMatch(/page-cache vs NATS default: .* = 2\.00x, target <= 1x: NOT met$/)
    expect(lines.some((l) => l.includes('NATS synced acknowledged only 3,000 of the 10,000'))).toBe(true)
    expect(lines.some((l) => l.includes('NATS default acknowledged only'))).toBe(false)
  })
  it('leaves the throughput table out when every throughput workload was skipped', () => {
    expect(peerTable(runs, nats({}))).toEqual([])
  })
})
