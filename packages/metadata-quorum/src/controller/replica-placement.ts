/**
 * Replica placement for new partitions: Kafka's rack-unaware assignment
 * (AdminUtils.assignReplicasToBrokersRackUnaware, kept by the ZooKeeper-era controller).
 *
 * With brokers sorted by id, partition p's first replica (its preferred leader) is
 * brokers[(startIndex + p) % n], so leaders go round-robin and n * k partitions give each
 * broker exactly k leaders. Followers are placed at a shift of 1 + (shift + j) % (n - 1)
 * from the first replica; the shift grows by one every n partitions so that followers of
 * the same leader spread too. The shift is never 0 and distinct for distinct j < n - 1,
 * so a partition never gets the same broker twice.
 *
 * startIndex and the initial shift are random (the injected Random), as in Kafka.
 */
import type { NodeId } from '@tributary/protocol'
import { assert } from '../util/assert.js'
import { type Random, randomInt } from '../util/random.js'

export interface PlacementStart {
  readonly startIndex: number
  readonly replicaShift: number
}

export function randomPlacementStart(random: Random, brokerCount: number): PlacementStart {
  assert(brokerCount > 0, 'placement needs at least one broker')
  return { startIndex: randomInt(random, brokerCount), replicaShift: randomInt(random, brokerCount) }
}

/**
 * Replica lists for partitions firstPartitionId .. firstPartitionId + count - 1.
 * `brokers` must be sorted and distinct; replicationFactor must be in 1..brokers.length.
 */
export function assignReplicas(
  brokers: readonly NodeId[],
  firstPartitionId: number,
  count: number,
  replicationFactor: number,
  start: PlacementStart,
): NodeId[][] {
  const n = brokers.length
  assert(n > 0, 'placement needs at least one broker')
  assert(replicationFactor >= 1 && replicationFactor <= n, `replication factor ${replicationFactor} cannot be placed on ${n} broker(s)`)
  assert(firstPartitionId >= 0 && count >= 0, 'partition range must be non-negative')
  const assignments: NodeId[][] = []
  let replicaShift = start.replicaShift
  for (let p = firstPartitionId; p < firstPartitionId + count; p++) {
    if (p > 0 && p % n === 0) replicaShift += 1
    const first = (p + start.startIndex) % n
    const replicas: NodeId[] = [brokers[first]]
    for (let j = 0; j < replicationFactor - 1; j++) {
      const shift = 1 + ((replicaShift + j) % (n - 1))
      replicas.push(brokers[(first + shift) % n])
    }
    assert(new Set(replicas).size === replicas.length, `placement produced duplicate replicas [${replicas.join(',')}]`)
    assignments.push(replicas)
  }
  return assignments
}
