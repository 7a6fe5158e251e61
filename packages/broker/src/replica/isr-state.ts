/**
 * IsrState: the leader's view of a partition's in-sync replica set, Kafka's Partition.scala
 * PartitionState (CommittedPartitionState / PendingExpandIsr / PendingShrinkIsr), plus one
 * state Kafka keeps implicitly: waiting for metadata after an AlterPartition answer that
 * leaves the committed ISR unknown.
 *
 * Two sets matter (KIP-497, Kafka's "maximal ISR"):
 *   - `isr`, the committed ISR: the last one the controller committed (from metadata or an
 *     AlterPartition answer). min.insync.replicas is checked against it.
 *   - the maximal ISR: every replica that might be in the ISR as far as the controller is
 *     concerned. The high watermark and acks=all wait for all of it. During an expand it
 *     includes the joining replica (the controller may commit the expand before we hear of
 *     it, after which a new leader may be elected from it); during a shrink it is still the
 *     committed ISR (the leaving replica stays in until the shrink commits).
 *
 * Invariants: the leader is in `isr` and in the maximal ISR; `isr` is a subset of the
 * maximal ISR; at most one AlterPartition is pending (every kind but `committed` blocks new
 * proposals).
 */
import type { NodeId } from '@tributary/protocol'

/** What the leader asks the controller (AlterPartition, KIP-497; broker epochs, KIP-903). */
export interface AlterPartitionRequest {
  readonly leaderEpoch: number
  /** The partition epoch the change is based on; the controller refuses a stale one. */
  readonly partitionEpoch: number
  readonly newIsr: readonly NodeId[]
  /** The broker epoch each follower in newIsr fetched with, where known. */
  readonly brokerEpochs: ReadonlyMap<NodeId, bigint>
}

export type IsrState =
  | { readonly kind: 'committed'; readonly isr: readonly NodeId[] }
  | {
      readonly kind: 'pending_expand'
      readonly isr: readonly NodeId[]
      readonly newReplicaId: NodeId
      readonly request: AlterPartitionRequest
    }
  | {
      readonly kind: 'pending_shrink'
      readonly isr: readonly NodeId[]
      readonly outOfSyncReplicaIds: readonly NodeId[]
      readonly request: AlterPartitionRequest
    }
  | {
      /** No request in flight and none proposed until the next metadata update for this partition. */
      readonly kind: 'awaiting_metadata'
      readonly isr: readonly NodeId[]
      readonly maximalIsr: readonly NodeId[]
      readonly reason: string
    }

export function maximalIsrOf(state: IsrState): readonly NodeId[] {
  switch (state.kind) {
    case 'committed':
    case 'pending_shrink':
      return state.isr
    case 'pending_expand':
      return state.isr.includes(state.newReplicaId) ? state.isr : [...state.isr, state.newReplicaId]
    case 'awaiting_metadata':
      return state.maximalIsr
  }
}

export function pendingRequestOf(state: IsrState): AlterPartitionRequest | null {
  return state.kind === 'pending_expand' || state.kind === 'pending_shrink' ? state.request : null
}
