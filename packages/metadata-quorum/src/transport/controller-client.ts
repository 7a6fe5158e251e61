/**
 * A promise-based client for one controller's RaftService.DescribeQuorum and
 * ControllerService, for tools (trib metadata-quorum), test harnesses and, later, brokers.
 * It does not follow NOT_CONTROLLER hints: callers decide where to go next.
 *
 * Every call has a deadline (timeoutMs); a failure rejects with the grpc ServiceError.
 */
import * as grpc from '@grpc/grpc-js'
import { controller, quorum } from '@tributary/protocol'
import { CHANNEL_OPTIONS } from './transport-limits.js'

export const DEFAULT_ADMIN_CALL_TIMEOUT_MS = 5000

export interface ControllerClientOptions {
  /** Deadline of each call. */
  readonly timeoutMs?: number
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall

export class ControllerClient {
  readonly address: string
  private readonly timeoutMs: number
  private readonly raft: quorum.RaftServiceClient
  private readonly controller: controller.ControllerServiceClient

  constructor(address: string, options: ControllerClientOptions = {}) {
    this.address = address
    this.timeoutMs = options.timeoutMs ?? DEFAULT_ADMIN_CALL_TIMEOUT_MS
    const credentials = grpc.credentials.createInsecure()
    this.raft = new quorum.RaftServiceClient(address, credentials, CHANNEL_OPTIONS)
    // Share the channel: one connection per controller.
    this.controller = new controller.ControllerServiceClient(address, credentials, {
      ...CHANNEL_OPTIONS,
      channelOverride: this.raft.getChannel(),
    })
  }

  describeQuorum(metadata: grpc.Metadata = new grpc.Metadata()): Promise<quorum.DescribeQuorumResponse> {
    return this.call(this.raft.describeQuorum.bind(this.raft), {}, metadata)
  }

  registerBroker(request: controller.RegisterBrokerRequest): Promise<controller.RegisterBrokerResponse> {
    return this.call(this.controller.registerBroker.bind(this.controller), request)
  }

  brokerHeartbeat(request: controller.BrokerHeartbeatRequest): Promise<controller.BrokerHeartbeatResponse> {
    return this.call(this.controller.brokerHeartbeat.bind(this.controller), request)
  }

  createTopics(request: controller.CreateTopicsRequest): Promise<controller.CreateTopicsResponse> {
    return this.call(this.controller.createTopics.bind(this.controller), request)
  }

  deleteTopics(request: controller.DeleteTopicsRequest): Promise<controller.DeleteTopicsResponse> {
    return this.call(this.controller.deleteTopics.bind(this.controller), request)
  }

  createPartitions(request: controller.CreatePartitionsRequest): Promise<controller.CreatePartitionsResponse> {
    return this.call(this.controller.createPartitions.bind(this.controller), request)
  }

  alterPartition(request: controller.AlterPartitionRequest): Promise<controller.AlterPartitionResponse> {
    return this.call(this.controller.alterPartition.bind(this.controller), request)
  }

  electLeaders(request: controller.ElectLeadersRequest): Promise<controller.ElectLeadersResponse> {
    return this.call(this.controller.electLeaders.bind(this.controller), request)
  }

  alterConfigs(request: controller.AlterConfigsRequest): Promise<controller.AlterConfigsResponse> {
    return this.call(this.controller.alterConfigs.bind(this.controller), request)
  }

  allocateProducerIds(request: controller.AllocateProducerIdsRequest): Promise<controller.AllocateProducerIdsResponse> {
    return this.call(this.controller.allocateProducerIds.bind(this.controller), request)
  }

  describeMetadata(request: controller.DescribeMetadataRequest): Promise<controller.DescribeMetadataResponse> {
    return this.call(this.controller.describeMetadata.bind(this.controller), request)
  }

  /**
   * Opens a BrokerSession stream (no deadline: it lives as long as the broker). The caller
   * cancels it to end it; its end or error tells the caller to reconnect.
   */
  brokerSession(request: controller.BrokerSessionRequest): grpc.ClientReadableStream<controller.BrokerSessionEvent> {
    return this.controller.brokerSession(request)
  }

  close(): void {
    this.controller.close()
    this.raft.close()
  }

  private call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, metadata = new grpc.Metadata()): Promise<Res> {
    return new Promise((resolve, reject) => {
      method(request, metadata, { deadline: Date.now() + this.timeoutMs }, (error, response) => {
        if (error !== null) reject(error)
        else resolve(response)
      })
    })
  }
}

/** True for the grpc ServiceError shape (a rejected ControllerClient call). */
export function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === 'number' && 'details' in err
}
