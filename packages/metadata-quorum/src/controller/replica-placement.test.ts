import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import type { NodeId } from '@tributary/protocol'
import { AssertionError } from '../util/assert.js'
import { SeededRandom } from '../util/random.js'
import { assignReplicas, randomPlacementStart } from './replica-placement.js'

const ids = (...n: number[]): NodeId[] => n as NodeId[]

function leaderCounts(assignment: NodeId[][]): Map<number, number> {
  const counts = new Map<number, number>()
  for (const replicas of assignment) counts.set(replicas[0], (counts.get(replicas[0]) ?? 0) + 1)
  return counts
}

describe('assignReplicas', () => {
  it('spreads leaders evenly: 3 brokers, 30 partitions -> 10 leaders each, for every start', () => {
    for (let startIndex = 0; startIndex < 3; startIndex++) {
      for (let replicaShift = 0; replicaShift < 3; replicaShift++) {
        const a = assignReplicas(ids(1, 2, 3), 0, 30, 3, { startIndex, replicaShift })
        expect(a).toHaveLength(30)
        expect(leaderCounts(a)).toEqual(new Map([[1, 10], [2, 10], [3, 10]]))
      }
    }
  })

  it("follows Kafka's rack-unaware layout (start 0, shift 0)", () => {
    // Kafka's AdminUtilsTest.testReplicaAssignment: 5 brokers, 10 partitions, RF 3, fixed start 0.
    const a = assignReplicas(ids(0, 1, 2, 3, 4), 0, 10, 3, { startIndex: 0, replicaShift: 0 })
    expect(a).toEqual([[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0], [4, 0, 1], [0, 2, 3], [1, 3, 4], [2, 4, 0], [3, 0, 1], [4, 1, 2]])
  })

  it('continues partition numbering for added partitions', () => {
    const all = assignReplicas(ids(1, 2, 3, 4), 0, 8, 2, { startIndex: 1, replicaShift: 2 })
    const tail = assignReplicas(ids(1, 2, 3, 4), 5, 3, 2, { startIndex: 1, replicaShift: 2 + 1 })
    expect(tail).toEqual(all.slice(5))
  })

  it('never places a broker twice and only uses the given brokers', () => {
    fc.assert(fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 60 }), fc.nat(), fc.nat(), fc.nat(),
      (raw, first, count, rfSeed, s1, s2) => {
        const brokers = raw.sort((x, y) => x - y) as NodeId[]
        const rf = 1 + (rfSeed % brokers.length)
        const a = assignReplicas(brokers, first, count, rf, { startIndex: s1 % brokers.length, replicaShift: s2 % brokers.length })
        expect(a).toHaveLength(count)
        for (const replicas of a) {
          expect(replicas).toHaveLength(rf)
          expect(new Set(replicas).size).toBe(rf)
          for (const r of replicas) expect(brokers).toContain(r)
        }
        // Leaders go round-robin: counts differ by at most one.
        const counts = [...leaderCounts(a).values()]
        if (count >= brokers.length) expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1)
      },
    ))
  })

  it('asserts on a replication factor the brokers cannot meet', () => {
    expect(() => assignReplicas(ids(1, 2), 0, 1, 3, { startIndex: 0, replicaShift: 0 })).toThrow(AssertionError)
    expect(() => assignReplicas([], 0, 1, 1, { startIndex: 0, replicaShift: 0 })).toThrow(AssertionError)
  })

  it('draws the start from the injected Random', () => {
    const a = randomPlacementStart(new SeededRandom(7), 5)
    const b = randomPlacementStart(new SeededRandom(7), 5)
    expect(a).toEqual(b)
    expect(a.startIndex).toBeGreaterThanOrEqual(0)
    expect(a.startIndex).toBeLessThan(5)
  })
})
