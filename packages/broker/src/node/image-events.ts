/**
 * One-line console events from metadata images, for `trib server` and the local cluster's
 * output. Pure.
 *
 * - clusterEvents(previous, next): what the cluster saw change, as the active controller
 *   prints it: brokers registered, fenced and unfenced; partitions whose leader or ISR
 *   changed; topics created and deleted.
 * - localLeadershipEvent(previous, next, brokerId): which partitions this broker now leads
 *   or follows (localChanges), as one line.
 */
import { localChanges, type MetadataImage, type PartitionRegistration, type TopicImage } from '@tributary/metadata-quorum'
import { NO_NODE, type NodeId } from '@tributary/protocol'
import { EVENT_LINES_PER_IMAGE_MAX, EVENT_PARTITIONS_SHOWN_MAX } from './node-limits.js'

const leaderText = (leader: NodeId): string => (leader === NO_NODE ? 'none' : String(leader))

export function clusterEvents(previous: MetadataImage, next: MetadataImage): string[] {
  const lines: string[] = []
  if (previous.brokers !== next.brokers) {
    for (const [id, b] of next.brokers) {
      const old = previous.brokers.get(id)
      if (old === b) continue
      if (old === undefined || old.brokerEpoch !== b.brokerEpoch) lines.push(`broker ${id} registered (epoch ${b.brokerEpoch})`)
      else if (old.fenced !== b.fenced) lines.push(b.fenced ? `broker ${id} fenced` : `broker ${id} unfenced`)
    }
  }
  if (previous.topicsById !== next.topicsById) {
    for (const [id, topic] of next.topicsById) {
      const old = previous.topicsById.get(id)
      if (old === topic) continue
      if (old === undefined) {
        lines.push(`topic ${topic.name} created: ${topic.partitions.size} partition${topic.partitions.size === 1 ? '' : 's'}`)
        continue
      }
      partitionEvents(old, topic, lines)
    }
    for (const [id, old] of previous.topicsById) if (!next.topicsById.has(id)) lines.push(`topic ${old.name} deleted`)
  }
  if (lines.length <= EVENT_LINES_PER_IMAGE_MAX) return lines
  const shown = lines.slice(0, EVENT_LINES_PER_IMAGE_MAX)
  shown.push(`... and ${lines.length - EVENT_LINES_PER_IMAGE_MAX} more changes`)
  return shown
}

function partitionEvents(old: TopicImage, topic: TopicImage, lines: string[]): void {
  for (const [pid, p] of topic.partitions) {
    const q: PartitionRegistration | undefined = old.partitions.get(pid)
    if (q === p) continue
    const name = `${topic.name}-${pid}`
    if (q === undefined) {
      lines.push(`partition ${name} created: leader ${leaderText(p.leader)}, replicas [${p.replicas.join(',')}]`)
      continue
    }
    const parts: string[] = []
    if (q.leader !== p.leader) parts.push(`leader ${leaderText(q.leader)} -> ${leaderText(p.leader)} (epoch ${p.leaderEpoch})`)
    if (q.isr.join(',') !== p.isr.join(',')) parts.push(`ISR [${q.isr.join(',')}] -> [${p.isr.join(',')}]`)
    if (parts.length > 0) lines.push(`partition ${name}: ${parts.join(', ')}`)
  }
}

/** "leads orders-0, orders-2; follows orders-1" for what changed, or null if nothing did. */
export function localLeadershipEvent(previous: MetadataImage, next: MetadataImage, brokerId: NodeId): string | null {
  const changes = localChanges(previous, next, brokerId)
  const leads = changes.leaders.filter((c) => c.change !== 'partition_epoch_bumped' && c.change !== 'leader_epoch_bumped')
  const follows = changes.followers.filter((c) => c.change !== 'partition_epoch_bumped')
  const parts: string[] = []
  const list = (names: string[]): string => {
    if (names.length <= EVENT_PARTITIONS_SHOWN_MAX) return names.join(', ')
    return `${names.slice(0, EVENT_PARTITIONS_SHOWN_MAX).join(', ')} and ${names.length - EVENT_PARTITIONS_SHOWN_MAX} more`
  }
  if (leads.length > 0) parts.push(`now leader of ${list(leads.map((c) => `${c.topicName}-${c.partitionId}`))}`)
  if (follows.length > 0) {
    parts.push(`now follower of ${list(follows.map((c) => `${c.topicName}-${c.partitionId}${c.partition.leader === NO_NODE ? ' (no leader)' : ` (leader ${c.partition.leader})`}`))}`)
  }
  if (changes.deletes.length > 0) parts.push(`dropped ${list(changes.deletes.map((d) => `${d.topicName}-${d.partitionId}`))}`)
  return parts.length === 0 ? null : parts.join('; ')
}
