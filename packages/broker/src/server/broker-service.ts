/**
 * The broker's gRPC service (proto/broker.proto BrokerService), over raw bytes as the
 * controller's service is (raw-service.ts): requests are decoded and validated in the
 * handler, so malformed input is answered INVALID_ARGUMENT and nothing a peer sends can
 * throw out of a callback; request bytes and calls in flight are bounded
 * (server-limits.ts, RESOURCE_EXHAUSTED).
 *
 * - Metadata: from the broker's metadata image (metadata-response.ts).
 * - Produce, Fetch, ListOffsets, OffsetsForLeaderEpoch: the replica manager. Fetch gets an
 *   AbortSignal that fires when the caller cancels or goes away, so a long poll stops.
 *   acks=0 is answered with an empty response once appended (gRPC needs an answer).
 * - ReplicaFetch: the follower's bidi stream; requests are handled one at a time, in order,
 *   each answered with its own correlation id.
 * - CreateTopics, DeleteTopics, CreatePartitions, ElectLeaders, AlterConfigs: forwarded to
 *   the active controller and its answer relayed (Kafka's forwarding, KIP-590).
 * - DescribeConfigs: topic configs from the broker's metadata image (describe-configs.ts).
 * - InitProducerId: an idempotent producer's id, from the blocks the broker's
 *   ProducerIdManager takes from the controller (KIP-730).
 *
 * - FindCoordinator, ConsumerGroupHeartbeat, OffsetCommit, OffsetFetch, ListGroups,
 *   DescribeGroups, DeleteGroups: the group coordinator (group/group-coordinator.ts, KIP-848).
 *   Without one (deps.groups absent) each is answered UNSUPPORTED_VERSION in its body.
 *
 * Produce requests and fetch answers use the records codecs (records-message-codecs.ts):
 * the records stay views of the received bytes and are copied once into an answer.
 *
 * Until the node has started its replica manager and metadata, calls are answered
 * UNAVAILABLE (the listener is bound first so a port in use fails fast).
 */
import * as grpc from '@grpc/grpc-js'
import {
  CallStatusError,
  InflightLimit,
  rawBidiStreamHandler,
  rawServiceDefinition,
  rawUnaryHandler,
  transportLimits,
  type Logger,
  type MetadataImage,
  type RawHandlerLimits,
} from '@tributary/metadata-quorum'
import { broker, controller, ErrorCode, fetchResponseCodec, produceRequestCodec } from '@tributary/protocol'
import type { GroupRequests } from '../group/group-coordinator.js'
import type { ReplicaService } from '../replica-manager/types.js'
import type { CleanupPolicyDefault, TopicDefaults } from '../partition/topic-config.js'
import { describeConfigsResponse } from './describe-configs.js'
import { metadataResponse } from './metadata-response.js'
import { MAX_BROKER_CALLS_IN_FLIGHT, MAX_BROKER_MESSAGE_BYTES, MAX_QUEUED_REPLICA_FETCHES, MAX_REPLICA_FETCH_STREAMS } from './server-limits.js'

/** Admin requests the broker forwards to the active controller. */
export interface AdminForwarder {
  createTopics(request: controller.CreateTopicsRequest): Promise<controller.CreateTopicsResponse>
  deleteTopics(request: controller.DeleteTopicsRequest): Promise<controller.DeleteTopicsResponse>
  createPartitions(request: controller.CreatePartitionsRequest): Promise<controller.CreatePartitionsResponse>
  electLeaders(request: controller.ElectLeadersRequest): Promise<controller.ElectLeadersResponse>
  alterConfigs(request: controller.AlterConfigsRequest): Promise<controller.AlterConfigsResponse>
}

/** Idempotent producers' ids (producer-ids/producer-id-manager.ts). */
export interface ProducerIdSource {
  initProducerId(request: broker.InitProducerIdRequest): Promise<broker.InitProducerIdResponse>
}

export interface MetadataView {
  /** The image Metadata answers from (the one the replica manager applied, else the newest), or null before any. */
  readonly image: MetadataImage | null
  /** The active controller as the local Raft knows it, -1 if unknown. */
  readonly controllerId: number
  readonly clusterId: string
  /** The broker's topic defaults (DescribeConfigs reports them for keys a topic does not set). */
  readonly topicDefaults: TopicDefaults & CleanupPolicyDefault
}

export interface BrokerServiceDeps {
  readonly logger: Logger
  /** The replica manager; throws CallStatusError(UNAVAILABLE) until the node has started. */
  readonly replicas: () => ReplicaService
  readonly metadata: () => MetadataView
  /** The listener name whose endpoints Metadata returns (the one this service listens on). */
  readonly listenerName: string
  readonly admin: AdminForwarder
  readonly producerIds: () => ProducerIdSource
  /** The group coordinator; absent: group calls answer UNSUPPORTED_VERSION. Throws CallStatusError(UNAVAILABLE) until the node has started. */
  readonly groups?: () => GroupRequests
}

export const RAW_BROKER_SERVICE: grpc.ServiceDefinition = rawServiceDefinition(broker.BrokerServiceService)

const GROUPS_UNSUPPORTED = ErrorCode.UNSUPPORTED_VERSION.code
const GROUPS_NOT_SERVED = 'consumer groups are not served by this broker yet'

/** A message with every field at its default (what decoding zero bytes gives). */
function emptyOf<T>(codec: { decode(input: Uint8Array): T }): T {
  return codec.decode(new Uint8Array(0))
}

/**
 * The unary Fetch is the consumers' RPC; only the ReplicaFetch stream may name a replica. A
 * follower's fetch counts toward the high watermark (PartitionState.onFollowerFetch) and reads
 * past it, so a client sending a follower's id could complete acks=all produces the follower
 * never received. Kafka guards this with the CLUSTER_ACTION ACL; without authentication the
 * RPC itself is the only line between a broker and a client.
 */
export function refuseReplicaOnClientFetch(request: broker.FetchRequest): broker.FetchResponse | null {
  if (request.replicaId === -1) return null
  return {
    errorCode: ErrorCode.INVALID_REQUEST.code,
    errorMessage: `a client Fetch must have replica_id -1 (got ${request.replicaId}); followers fetch over ReplicaFetch`,
    topics: [],
    correlationId: request.correlationId,
  }
}

export function brokerServiceImpl(deps: BrokerServiceDeps): grpc.UntypedServiceImplementation {
  const { logger } = deps
  const limits: RawHandlerLimits = {
    maxRequestBytes: MAX_BROKER_MESSAGE_BYTES,
    inflight: new InflightLimit(MAX_BROKER_CALLS_IN_FLIGHT, transportLimits.REPEATED_WARNING_INTERVAL_MS),
  }
  const b = broker
  const c = controller
  const groups = deps.groups
  return {
    metadata: rawUnaryHandler(b.MetadataRequest, b.MetadataResponse, logger, 'Metadata', (request) => {
      const view = deps.metadata()
      if (view.image === null) throw new CallStatusError(grpc.status.UNAVAILABLE, 'the broker has no metadata yet')
      return metadataResponse(view.image, request, { clusterId: view.clusterId, controllerId: view.controllerId, listenerName: deps.listenerName })
    }, limits),
    produce: rawUnaryHandler(produceRequestCodec, b.ProduceResponse, logger, 'Produce', async (request) => {
      const response = await deps.replicas().produce(request)
      return response ?? { topics: [] }
    }, limits),
    fetch: rawUnaryHandler(b.FetchRequest, fetchResponseCodec, logger, 'Fetch', (request, call) => {
      const refused = refuseReplicaOnClientFetch(request)
      if (refused !== null) return refused
      const cancelled = new AbortController()
      call.on('cancelled', () => cancelled.abort())
      return deps.replicas().fetch(request, cancelled.signal)
    }, limits),
    replicaFetch: rawBidiStreamHandler(b.FetchRequest, fetchResponseCodec, logger, 'ReplicaFetch', async (request, signal) => {
      const response = await deps.replicas().fetch(request, signal)
      return { ...response, correlationId: request.correlationId }
    }, {
      maxRequestBytes: MAX_BROKER_MESSAGE_BYTES,
      inflight: new InflightLimit(MAX_REPLICA_FETCH_STREAMS, transportLimits.REPEATED_WARNING_INTERVAL_MS),
      maxQueuedRequests: MAX_QUEUED_REPLICA_FETCHES,
    }),
    listOffsets: rawUnaryHandler(b.ListOffsetsRequest, b.ListOffsetsResponse, logger, 'ListOffsets', (request) => deps.replicas().listOffsets(request), limits),
    offsetsForLeaderEpoch: rawUnaryHandler(b.OffsetsForLeaderEpochRequest, b.OffsetsForLeaderEpochResponse, logger, 'OffsetsForLeaderEpoch', (request) =>
      deps.replicas().offsetsForLeaderEpoch(request), limits),
    createTopics: rawUnaryHandler(c.CreateTopicsRequest, c.CreateTopicsResponse, logger, 'CreateTopics', (request) => deps.admin.createTopics(request), limits),
    deleteTopics: rawUnaryHandler(c.DeleteTopicsRequest, c.DeleteTopicsResponse, logger, 'DeleteTopics', (request) => deps.admin.deleteTopics(request), limits),
    createPartitions: rawUnaryHandler(c.CreatePartitionsRequest, c.CreatePartitionsResponse, logger, 'CreatePartitions', (request) => deps.admin.createPartitions(request), limits),
    electLeaders: rawUnaryHandler(c.ElectLeadersRequest, c.ElectLeadersResponse, logger, 'ElectLeaders', (request) => deps.admin.electLeaders(request), limits),
    alterConfigs: rawUnaryHandler(c.AlterConfigsRequest, c.AlterConfigsResponse, logger, 'AlterConfigs', (request) => deps.admin.alterConfigs(request), limits),
    describeConfigs: rawUnaryHandler(b.DescribeConfigsRequest, b.DescribeConfigsResponse, logger, 'DescribeConfigs', (request) => {
      const view = deps.metadata()
      if (view.image === null) throw new CallStatusError(grpc.status.UNAVAILABLE, 'the broker has no metadata yet')
      return describeConfigsResponse(view.image, request, view.topicDefaults)
    }, limits),
    initProducerId: rawUnaryHandler(b.InitProducerIdRequest, b.InitProducerIdResponse, logger, 'InitProducerId', (request) => deps.producerIds().initProducerId(request), limits),
    // Consumer groups (KIP-848): each call is decoded like any other (garbage gets
    // INVALID_ARGUMENT); without a coordinator it is answered UNSUPPORTED_VERSION, not
    // retriable, in its own body.
    findCoordinator: rawUnaryHandler(b.FindCoordinatorRequest, b.FindCoordinatorResponse, logger, 'FindCoordinator', (request) =>
      groups === undefined
        ? ({ ...emptyOf(b.FindCoordinatorResponse), errorCode: GROUPS_UNSUPPORTED, errorMessage: GROUPS_NOT_SERVED, nodeId: -1 })
        : groups().findCoordinator(request), limits),
    consumerGroupHeartbeat: rawUnaryHandler(b.ConsumerGroupHeartbeatRequest, b.ConsumerGroupHeartbeatResponse, logger, 'ConsumerGroupHeartbeat', (request) =>
      groups === undefined
        ? ({ ...emptyOf(b.ConsumerGroupHeartbeatResponse), errorCode: GROUPS_UNSUPPORTED, errorMessage: GROUPS_NOT_SERVED })
        : groups().heartbeat(request), limits),
    offsetCommit: rawUnaryHandler(b.OffsetCommitRequest, b.OffsetCommitResponse, logger, 'OffsetCommit', (request) =>
      groups === undefined ? ({ ...emptyOf(b.OffsetCommitResponse), errorCode: GROUPS_UNSUPPORTED }) : groups().commitOffsets(request), limits),
    offsetFetch: rawUnaryHandler(b.OffsetFetchRequest, b.OffsetFetchResponse, logger, 'OffsetFetch', (request) =>
      groups === undefined ? ({ ...emptyOf(b.OffsetFetchResponse), errorCode: GROUPS_UNSUPPORTED }) : groups().fetchOffsets(request), limits),
    listGroups: rawUnaryHandler(b.ListGroupsRequest, b.ListGroupsResponse, logger, 'ListGroups', (request) =>
      groups === undefined ? ({ ...emptyOf(b.ListGroupsResponse), errorCode: GROUPS_UNSUPPORTED }) : groups().listGroups(request), limits),
    describeGroups: rawUnaryHandler(b.DescribeGroupsRequest, b.DescribeGroupsResponse, logger, 'DescribeGroups', (request) =>
      groups === undefined
        ? { groups: request.groupIds.map((groupId) => ({ ...emptyOf(b.DescribedGroup), groupId, errorCode: GROUPS_UNSUPPORTED, errorMessage: GROUPS_NOT_SERVED })) }
        : groups().describeGroups(request), limits),
    deleteGroups: rawUnaryHandler(b.DeleteGroupsRequest, b.DeleteGroupsResponse, logger, 'DeleteGroups', (request) =>
      groups === undefined
        ? { results: request.groupIds.map((groupId) => ({ groupId, errorCode: GROUPS_UNSUPPORTED })) }
        : groups().deleteGroups(request), limits),
  }
}
