import { describe, expect, it } from 'vitest'
import { checkReplicas } from './check-replicas.ts'
import type { ReplicaBatch, ReplicaImage } from './history.ts'

/** Batches [base, last] whose bytes are `tag` + base. */
function batch(base: number, last: number, tag = 'x'): ReplicaBatch {
  return { baseOffset: BigInt(base), lastOffset: BigInt(last), bytes: new TextEncoder().encode(`${tag}${base}-${last}`) }
}

function image(node: number, batches: readonly ReplicaBatch[], partition = 0): ReplicaImage {
  return { node, topic: 't', partition, batches }
}

const hw = (n: bigint, partition = 0): Map<string, bigint> => new Map([[`t-${partition}`, n]])
const full = [batch(0, 1), batch(2, 4), batch(5, 5)]

describe('checkReplicas', () => {
  it('accepts identical replicas, and ignores what lies at or beyond the high watermark', () => {
    const result = checkReplicas([image(1, full), image(2, full), image(3, [...full, batch(6, 9, 'uncommitted')])], hw(6n))
    expect(result).toEqual({ counts: { replicas: 3, replicaBehind: 0, divergent: 0 }, violations: [] })
  })

  it('compares only the range each replica still holds (old segments deleted)', () => {
    expect(checkReplicas([image(1, full), image(2, full.slice(1))], hw(6n)).counts).toMatchObject({ replicaBehind: 0, divergent: 0 })
  })

  it('flags a replica ending before the high watermark, and one holding nothing', () => {
    const result = checkReplicas([image(1, full), image(2, full.slice(0, 2)), image(3, [])], hw(6n))
    expect(result.counts).toMatchObject({ replicaBehind: 2, divergent: 0 })
    expect(result.violations.map((v) => v.detail)).toEqual(['t-0 on node 2 ends at 5, high watermark 6', 't-0 on node 3 ends at 0, high watermark 6'])
  })

  it('flags the minority variant, once per replica, at its first difference', () => {
    const odd = [batch(0, 1), batch(2, 4, 'y'), batch(5, 5, 'y')]
    const result = checkReplicas([image(1, full), image(2, odd), image(3, full)], hw(6n))
    expect(result.counts.divergent).toBe(1)
    expect(result.violations[0].detail).toContain('node 2 diverges at offset 2')
  })

  it('breaks a tie towards the lowest node id', () => {
    const odd = [batch(0, 1, 'y'), ...full.slice(1)]
    const result = checkReplicas([image(2, odd), image(1, full)], hw(6n))
    expect(result.counts.divergent).toBe(1)
    expect(result.violations[0].detail).toContain('on node 2')
  })

  it('flags different batch boundaries as divergence', () => {
    const split = [batch(0, 1), batch(2, 3), batch(4, 4), batch(5, 5)]
    const result = checkReplicas([image(1, full), image(2, full), image(3, split)], hw(6n))
    expect(result.counts).toMatchObject({ divergent: 1, replicaBehind: 0 })
  })

  it('judges each partition on its own, and without a read-back up to the furthest replica', () => {
    const result = checkReplicas([image(1, full, 0), image(2, full, 0), image(1, full, 1), image(2, full.slice(0, 2), 1)], hw(6n, 0))
    expect(result.counts).toMatchObject({ replicas: 4, replicaBehind: 1, divergent: 0 })
    expect(result.violations[0].detail).toContain('t-1 on node 2')
  })

  it('compares byte views that share a buffer', () => {
    const backing = new TextEncoder().encode('..x0-1..')
    const view = { baseOffset: 0n, lastOffset: 1n, bytes: backing.subarray(2, 6) }
    expect(checkReplicas([image(1, [batch(0, 1)]), image(2, [view])], hw(2n)).counts.divergent).toBe(0)
  })

  it('rejects two images of one partition from one node', () => {
    expect(() => checkReplicas([image(1, full), image(1, full)], hw(6n))).toThrow(/two images/)
  })
})
