/**
 * A set of partitions keyed by topic id: what a member owns, is assigned, or is asked to
 * revoke. Values are immutable once built; the helpers return new maps. The persisted and wire
 * form is `TopicPartitionsValue[]`, sorted by topic id and partition so equal sets encode alike.
 */

export type Assignment = ReadonlyMap<string, ReadonlySet<number>>

/** The persisted / wire form of one topic's partitions (sorted, no duplicates). */
export interface TopicPartitionsValue {
  readonly topicId: string
  readonly partitions: readonly number[]
}

export const EMPTY_ASSIGNMENT: Assignment = new Map()

export function assignmentFrom(entries: Iterable<readonly [string, Iterable<number>]>): Assignment {
  const out = new Map<string, Set<number>>()
  for (const [topicId, partitions] of entries) {
    let set = out.get(topicId)
    for (const p of partitions) {
      if (set === undefined) {
        set = new Set()
        out.set(topicId, set)
      }
      set.add(p)
    }
  }
  return out
}

export function fromTopicPartitions(values: readonly TopicPartitionsValue[]): Assignment {
  return assignmentFrom(values.map((v) => [v.topicId, v.partitions] as const))
}

export function toTopicPartitions(a: Assignment): TopicPartitionsValue[] {
  return [...a.entries()]
    .filter(([, ps]) => ps.size > 0)
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([topicId, ps]) => ({ topicId, partitions: [...ps].sort((x, y) => x - y) }))
}

export function assignmentSize(a: Assignment): number {
  let n = 0
  for (const ps of a.values()) n += ps.size
  return n
}

export function isEmptyAssignment(a: Assignment): boolean {
  return assignmentSize(a) === 0
}

export function hasPartition(a: Assignment, topicId: string, partition: number): boolean {
  return a.get(topicId)?.has(partition) ?? false
}

/** Every (topicId, partition) of `a`, in a deterministic order. */
export function* partitionsOf(a: Assignment): Generator<readonly [string, number]> {
  for (const { topicId, partitions } of toTopicPartitions(a)) {
    for (const p of partitions) yield [topicId, p]
  }
}

export function union(a: Assignment, b: Assignment): Assignment {
  return assignmentFrom([...a.entries(), ...b.entries()])
}

/** The partitions of `a` that are not in `b`. */
export function minus(a: Assignment, b: Assignment): Assignment {
  return assignmentFrom([...a.entries()].map(([t, ps]) => [t, [...ps].filter((p) => !hasPartition(b, t, p))] as const))
}

export function intersect(a: Assignment, b: Assignment): Assignment {
  return assignmentFrom([...a.entries()].map(([t, ps]) => [t, [...ps].filter((p) => hasPartition(b, t, p))] as const))
}

export function overlaps(a: Assignment, b: Assignment): boolean {
  for (const [t, ps] of a) {
    for (const p of ps) if (hasPartition(b, t, p)) return true
  }
  return false
}

export function assignmentsEqual(a: Assignment, b: Assignment): boolean {
  return assignmentSize(a) === assignmentSize(b) && isEmptyAssignment(minus(a, b))
}

export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`
}
