/**
 * Who leads what, from a broker's Metadata answer, and the choices built on it: the partitions
 * each node leads (`trib cluster status`), and the node `trib cluster kill-leader` kills. Pure.
 */
import type { Parsed } from './cluster-args.js'

/** The part of a Metadata topic these choices read (the client SDK's TopicInfo fits). */
export interface LeaderTopic {
  readonly name: string
  readonly isInternal: boolean
  readonly partitions: readonly { readonly partition: number; readonly leader: number }[]
}

export interface TopicPartitionRef {
  readonly topic: string
  readonly partition: number
}

/** The partitions each node leads, sorted by topic then partition; leaderless partitions are left out. */
export function leadsByNode(topics: readonly LeaderTopic[]): Map<number, TopicPartitionRef[]> {
  const out = new Map<number, TopicPartitionRef[]>()
  const sorted = [...topics].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const t of sorted) {
    for (const p of [...t.partitions].sort((a, b) => a.partition - b.partition)) {
      if (p.leader < 0) continue
      const list = out.get(p.leader) ?? []
      list.push({ topic: t.name, partition: p.partition })
      out.set(p.leader, list)
    }
  }
  return out
}

export interface LeaderChoice {
  readonly nodeId: number
  /** The partitions it leads that made it the choice (for the command's output). */
  readonly partitions: readonly TopicPartitionRef[]
}

/**
 * `kill-leader --topic T --partition P`: the leader of T-P. Without a topic: the node that
 * leads the most partitions of non-internal topics (its death moves the most user traffic;
 * ties go to the lowest id); when no user topic has a leader, the same over every topic
 * (__consumer_offsets). Only nodes in `candidates` (up, in the state file) are chosen.
 */
export function chooseLeader(topics: readonly LeaderTopic[], target: TopicPartitionRef | null, candidates: ReadonlySet<number>): Parsed<LeaderChoice> {
  if (target !== null) {
    const topic = topics.find((t) => t.name === target.topic)
    if (topic === undefined) return { kind: 'error', message: `topic '${target.topic}' does not exist` }
    const partition = topic.partitions.find((p) => p.partition === target.partition)
    if (partition === undefined) return { kind: 'error', message: `topic '${target.topic}' has no partition ${target.partition} (it has ${topic.partitions.length})` }
    if (partition.leader < 0) return { kind: 'error', message: `${target.topic}-${target.partition} has no leader right now` }
    if (!candidates.has(partition.leader)) return { kind: 'error', message: `${target.topic}-${target.partition} is led by node ${partition.leader}, which is not a running node of this cluster` }
    return { kind: 'ok', value: { nodeId: partition.leader, partitions: [target] } }
  }
  const pick = (pool: readonly LeaderTopic[]): LeaderChoice | null => {
    let best: LeaderChoice | null = null
    for (const [nodeId, partitions] of [...leadsByNode(pool)].sort((a, b) => a[0] - b[0])) {
      if (!candidates.has(nodeId)) continue
      if (best === null || partitions.length > best.partitions.length) best = { nodeId, partitions }
    }
    return best
  }
  const choice = pick(topics.filter((t) => !t.isInternal)) ?? pick(topics)
  if (choice === null) return { kind: 'error', message: 'no running node leads any partition (create a topic first: npx trib topics --create --topic T)' }
  return { kind: 'ok', value: choice }
}

/** `orders-0, orders-2, ... (+3 more)`: a short list for one line of output. */
export function describePartitions(partitions: readonly TopicPartitionRef[], shown = 6): string {
  const names = partitions.slice(0, shown).map((p) => `${p.topic}-${p.partition}`)
  const rest = partitions.length - names.length
  return `${names.join(', ')}${rest > 0 ? ` (+${rest} more)` : ''}`
}
