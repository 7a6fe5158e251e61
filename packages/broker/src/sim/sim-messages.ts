/**
 * The messages of the replication simulator's RPC network: replica fetches and
 * OffsetsForLeaderEpoch between brokers, produce requests from the client, and controller
 * requests from brokers (and the admin) to the controller quorum. They carry what the real
 * protobuf messages of proto/broker.proto and proto/controller.proto carry for one
 * partition; controller requests carry the real ControllerCommand and ControllerResponse.
 *
 * Every request has a requestId; its response echoes it. The network `tag` of a request is
 * the sender's incarnation, and a response is only delivered to that incarnation, as a gRPC
 * response only returns over the call that carried the request.
 */
import type { ControllerCommand, ControllerResponse } from '@tributary/metadata-quorum'
import type { NodeId, TopicId } from '@tributary/protocol'
import type { SimBatch } from './sim-partition-log.js'

export interface PartitionKey {
  readonly topicId: TopicId
  readonly partitionId: number
}

export function partitionKey(p: PartitionKey): string {
  return `${p.topicId}-${p.partitionId}`
}

export type RpcBody =
  | {
      readonly type: 'fetch_request'
      readonly partition: PartitionKey
      readonly replicaId: NodeId
      /** KIP-903: the follower's broker epoch, which the leader passes on in AlterPartition. */
      readonly brokerEpoch: bigint
      /** The follower's durable log end ('fsync') or log end ('page-cache'). */
      readonly fetchOffset: bigint
      readonly currentLeaderEpoch: number
      /** The HW the follower knows: a parked fetch is answered early once the leader's passes it. */
      readonly knownHighWatermark: bigint
      readonly maxWaitMs: number
      readonly maxBatches: number
    }
  | {
      readonly type: 'fetch_response'
      readonly errorCode: number
      readonly batches: readonly SimBatch[]
      readonly highWatermark: bigint
    }
  | {
      readonly type: 'offsets_for_leader_epoch_request'
      readonly partition: PartitionKey
      readonly replicaId: NodeId
      readonly currentLeaderEpoch: number
      readonly leaderEpoch: number
    }
  | { readonly type: 'offsets_for_leader_epoch_response'; readonly errorCode: number; readonly epoch: number; readonly endOffset: bigint }
  | { readonly type: 'produce_request'; readonly partition: PartitionKey; readonly batch: Buffer; readonly timeoutMs: number }
  | { readonly type: 'produce_response'; readonly errorCode: number; readonly baseOffset: bigint }
  /** `deadlineMs`: gRPC deadline propagation; a server does not start work the caller gave up on. */
  | { readonly type: 'controller_request'; readonly command: ControllerCommand; readonly deadlineMs: number }
  /**
   * `response` null: NOT_CONTROLLER, with the controller's leader hint. `afterProposal` is
   * for the simulator's statistics only (a real broker cannot tell): the NOT_CONTROLLER
   * answers a request that was proposed and may still commit.
   */
  | { readonly type: 'controller_response'; readonly response: ControllerResponse | null; readonly leaderHint: NodeId | null; readonly afterProposal?: boolean }

export interface RpcMessage {
  readonly from: NodeId
  readonly to: NodeId
  readonly requestId: number
  readonly body: RpcBody
}

export function isRpcRequest(body: RpcBody): boolean {
  return body.type.endsWith('_request')
}

export function describeRpc(m: RpcMessage): string {
  const b = m.body
  const head = `n${m.from}->n${m.to} #${m.requestId}`
  switch (b.type) {
    case 'fetch_request':
      return `${head} Fetch(${partitionKey(b.partition).slice(0, 6)}.., offset ${b.fetchOffset}, epoch ${b.currentLeaderEpoch})`
    case 'fetch_response':
      return `${head} FetchResponse(${b.errorCode === 0 ? '' : `error ${b.errorCode}, `}${b.batches.length} batches` +
        `${b.batches.length > 0 ? ` ${b.batches[0].baseOffset}..${b.batches[b.batches.length - 1].lastOffset}` : ''}, hw ${b.highWatermark})`
    case 'offsets_for_leader_epoch_request':
      return `${head} OffsetsForLeaderEpoch(epoch ${b.leaderEpoch}, current ${b.currentLeaderEpoch})`
    case 'offsets_for_leader_epoch_response':
      return `${head} OffsetsForLeaderEpochResponse(${b.errorCode === 0 ? `${b.endOffset}@${b.epoch}` : `error ${b.errorCode}`})`
    case 'produce_request':
      return `${head} Produce(${partitionKey(b.partition).slice(0, 6)}..)`
    case 'produce_response':
      return `${head} ProduceResponse(${b.errorCode === 0 ? `offset ${b.baseOffset}` : `error ${b.errorCode}`})`
    case 'controller_request':
      return `${head} ${b.command.type}`
    case 'controller_response':
      return `${head} ${b.response === null ? `NOT_CONTROLLER (hint ${b.leaderHint ?? '-'})` : `${b.response.type} response`}`
  }
}
