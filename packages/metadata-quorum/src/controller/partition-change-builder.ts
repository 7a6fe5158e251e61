/**
 * Leader and ISR decisions for one partition (Kafka's PartitionChangeBuilder, without
 * eligible leader replicas, KIP-966 off, and without unclean election).
 *
 * Rules:
 * - Removing a broker from the ISR (it is fenced or shutting down) keeps the ISR non-empty:
 *   if it is the last member it stays, so the partition waits for it to come back instead
 *   of electing an out-of-sync replica (unclean.leader.election.enable=false).
 * - The current leader stays if it is still in the ISR and acceptable (registered,
 *   unfenced, not the broker being removed). Otherwise the new leader is the first replica,
 *   in assignment order, that is in the ISR and acceptable; if none is, the leader is -1.
 * - No record is produced when nothing changes (Kafka never writes a no-op change).
 */
import { NO_NODE, type NodeId, type TopicId, type metadata } from '@tributary/protocol'
import type { PartitionRegistration } from '../image/metadata-image.js'

export interface PartitionChangeRequest {
  readonly topicId: TopicId
  readonly partition: PartitionRegistration
  /** Whether a broker may lead: registered, unfenced, and not on its way out. */
  readonly isAcceptableLeader: (broker: NodeId) => boolean
  /** A broker to take out of the ISR (fenced or in controlled shutdown), if any. */
  readonly removeFromIsr: NodeId | null
}

export function buildPartitionChange(req: PartitionChangeRequest): metadata.PartitionChangeRecord | null {
  const { partition, isAcceptableLeader, removeFromIsr } = req
  let targetIsr: readonly NodeId[] = partition.isr
  if (removeFromIsr !== null && partition.isr.includes(removeFromIsr)) {
    const without = partition.isr.filter((r) => r !== removeFromIsr)
    // ELR-free Kafka: the ISR never becomes empty; its last member stays.
    if (without.length > 0) targetIsr = without
  }
  const isrChanged = targetIsr !== partition.isr

  let leader: NodeId = partition.leader
  const keepLeader = leader !== NO_NODE && targetIsr.includes(leader) && isAcceptableLeader(leader)
  if (!keepLeader) {
    leader = partition.replicas.find((r) => targetIsr.includes(r) && isAcceptableLeader(r)) ?? NO_NODE
  }
  const leaderChanged = leader !== partition.leader

  if (!isrChanged && !leaderChanged) return null
  return {
    topicId: req.topicId,
    partitionId: partition.partitionId,
    leader: leaderChanged ? leader : undefined,
    isr: isrChanged ? targetIsr.slice() : [],
    isrSet: isrChanged,
    replicas: [],
    replicasSet: false,
  }
}
