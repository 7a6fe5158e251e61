/**
 * Sticky partitioning for keyless records (KIP-480, as Kafka's BuiltInPartitioner without
 * the adaptive load part of KIP-794): every keyless record of a topic goes to one partition
 * until that partition's batch is sealed (full or lingered), then a new partition is picked
 * at random among the others. Batches fill faster than with round robin, so fewer, larger
 * requests carry the same records.
 */
export class StickyPartitioner {
  private readonly current = new Map<string, number>()

  constructor(private readonly random: () => number = Math.random) {}

  /** The partition for the next keyless record of `topic`. */
  partition(topic: string, numPartitions: number): number {
    const p = this.current.get(topic)
    if (p !== undefined && p < numPartitions) return p
    return this.pick(topic, numPartitions, -1)
  }

  /** The batch of `topic`'s sticky partition `sealed` was sealed: move on (if it still is the sticky one). */
  onBatchSealed(topic: string, sealed: number, numPartitions: number): void {
    if (this.current.get(topic) === sealed) this.pick(topic, numPartitions, sealed)
  }

  private pick(topic: string, numPartitions: number, avoid: number): number {
    let p = Math.floor(this.random() * numPartitions)
    if (numPartitions > 1 && p === avoid) p = (p + 1 + Math.floor(this.random() * (numPartitions - 1))) % numPartitions
    this.current.set(topic, p)
    return p
  }
}
