/**
 * Histories for the checker tests: a clean run built deterministically (every send
 * acknowledged, read back, consumed and replicated identically), which a test then breaks in
 * one way. Not used by the runner.
 */
import { encodeValue, partitionKey, type CommitObservation, type ConsumedRecord, type FaultEvent, type History, type HistoryEntry, type ReadBack, type ReplicaImage } from './history.ts'

export interface CleanHistoryShape {
  readonly producers: number
  readonly partitions: number
  readonly sendsPerProducer: number
  readonly nodes: number
  readonly topic?: string
  /** Records per replica batch. */
  readonly recordsPerBatch?: number
  readonly faults?: readonly FaultEvent[]
}

export const FIXTURE_TOPIC = 't'

/** Deterministic pseudo-random partition of send (p, seq). */
function partitionOf(p: number, seq: number, partitions: number): number {
  return (p * 7 + seq * 13 + ((p * seq) % 5)) % partitions
}

export function cleanHistory(shape: CleanHistoryShape): History {
  const topic = shape.topic ?? FIXTURE_TOPIC
  const perBatch = shape.recordsPerBatch ?? 2
  const nextOffset = new Array<bigint>(shape.partitions).fill(0n)
  const logs: { offset: bigint; value: string }[][] = Array.from({ length: shape.partitions }, () => [])
  const entries: HistoryEntry[] = []
  let clock = 1000
  // Producers take turns, so each partition interleaves several producers.
  for (let seq = 0; seq < shape.sendsPerProducer; seq++) {
    for (let p = 0; p < shape.producers; p++) {
      const producer = `p${p}`
      const partition = partitionOf(p, seq, shape.partitions)
      const offset = nextOffset[partition]++
      const value = encodeValue(producer, seq, 16)
      logs[partition].push({ offset, value })
      const sentAtMs = clock++
      entries.push({ op: { producer, seq, topic, partition, key: `k${seq % 10}`, sentAtMs }, outcome: { kind: 'ack', offset, atMs: sentAtMs + 5 } })
    }
  }
  const readBacks: ReadBack[] = logs.map((records, partition) => ({ topic, partition, records, highWatermark: nextOffset[partition], logStartOffset: 0n }))
  const consumed: ConsumedRecord[] = []
  const commits: CommitObservation[] = []
  logs.forEach((records, partition) => {
    for (const r of records) consumed.push({ topic, partition, offset: r.offset, value: r.value, atMs: clock++ })
    for (let o = 0n; o <= nextOffset[partition]; o += 3n) commits.push({ group: 'g', topic, partition, offset: o, atMs: clock++ })
  })
  return replicasFromReadBacks({ entries, readBacks, commits, consumed, replicas: [], faults: shape.faults ?? [] }, shape.nodes, perBatch)
}

/** The read-back of a partition, replaced by what `edit` makes of its records. */
export function editReadBack(history: History, partition: number, edit: (records: ReadBack['records']) => ReadBack['records'], topic = FIXTURE_TOPIC): History {
  const key = partitionKey(topic, partition)
  return {
    ...history,
    readBacks: history.readBacks.map((rb) => (partitionKey(rb.topic, rb.partition) === key ? { ...rb, records: edit(rb.records) } : rb)),
  }
}

/** Replica images of every read-back on nodes 1..nodes, all identical (one batch per `perBatch` records). */
export function replicasFromReadBacks(history: History, nodes: number, perBatch = 2): History {
  const replicas: ReplicaImage[] = []
  for (let node = 1; node <= nodes; node++) {
    for (const rb of history.readBacks) {
      const batches = []
      for (let i = 0; i < rb.records.length; i += perBatch) {
        const chunk = rb.records.slice(i, i + perBatch)
        batches.push({ baseOffset: chunk[0].offset, lastOffset: chunk[chunk.length - 1].offset, bytes: new TextEncoder().encode(chunk.map((r) => `${r.offset}=${r.value}`).join('|')) })
      }
      replicas.push({ node, topic: rb.topic, partition: rb.partition, batches })
    }
  }
  return { ...history, replicas }
}
