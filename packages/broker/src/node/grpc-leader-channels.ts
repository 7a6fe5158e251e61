/**
 * The replica manager's way to leader brokers over gRPC (LeaderChannels of
 * replica-manager/types.ts): one channel per leader broker, carrying the follower's single
 * ReplicaFetch stream to it (every partition this broker follows there, issue 3 §4) and the
 * unary OffsetsForLeaderEpoch.
 *
 * On the stream, each fetch gets its own correlation id and the answer with that id settles
 * it (the leader answers in order; several fetches may be in flight). A stream that fails or
 * ends rejects every fetch in flight and is reopened by the next fetch; a fetch unanswered
 * REPLICA_FETCH_ANSWER_MARGIN_MS past its max_wait_ms fails the stream (a hung leader whose
 * socket stays open). The channel uses the tuned flow-control window (server-limits.ts).
 */
import * as grpc from '@grpc/grpc-js'
import { bindAddress, errorMessage, type Logger, type MetadataImage } from '@tributary/metadata-quorum'
import { FastBrokerServiceClient, broker, type NodeId } from '@tributary/protocol'
import type { LeaderChannel, LeaderChannels } from '../replica-manager/types.js'
import { BROKER_CHANNEL_OPTIONS, OFFSETS_FOR_LEADER_EPOCH_TIMEOUT_MS, REPLICA_FETCH_ANSWER_MARGIN_MS } from '../server/server-limits.js'

export interface GrpcLeaderChannelsOptions {
  /** The listener name whose endpoint brokers use to reach each other (inter.broker.listener.name; Kafka's replica fetchers use the same). */
  readonly listenerName: string
  readonly logger: Logger
}

export class GrpcLeaderChannels implements LeaderChannels {
  constructor(private readonly options: GrpcLeaderChannelsOptions) {}

  open(leaderId: NodeId, image: MetadataImage): LeaderChannel | null {
    const registration = image.brokers.get(leaderId)
    if (registration === undefined) return null
    const endpoint = registration.endpoints.find((e) => e.name === this.options.listenerName) ?? registration.endpoints[0]
    if (endpoint === undefined) return null
    return new GrpcLeaderChannel(leaderId, bindAddress(endpoint.host, endpoint.port), this.options.logger)
  }
}

interface PendingFetch {
  readonly resolve: (response: broker.FetchResponse) => void
  readonly reject: (err: Error) => void
  readonly callerCorrelationId: bigint
  readonly timer: NodeJS.Timeout
}

export class GrpcLeaderChannel implements LeaderChannel {
  private readonly client: broker.BrokerServiceClient
  private stream: grpc.ClientDuplexStream<broker.FetchRequest, broker.FetchResponse> | null = null
  private readonly pending = new Map<bigint, PendingFetch>()
  private nextCorrelationId = 1n
  private closed = false

  constructor(
    readonly leaderId: NodeId,
    readonly address: string,
    private readonly logger: Logger,
  ) {
    // Fetch answers decode with their records as views of the received message (no copy).
    this.client = new FastBrokerServiceClient(address, grpc.credentials.createInsecure(), BROKER_CHANNEL_OPTIONS)
  }

  fetch(request: broker.FetchRequest): Promise<broker.FetchResponse> {
    if (this.closed) return Promise.reject(new Error(`the channel to broker ${this.leaderId} is closed`))
    const stream = this.stream ?? this.openStream()
    const correlationId = this.nextCorrelationId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.failStream(stream, new Error(`no answer from broker ${this.leaderId} within ${request.maxWaitMs + REPLICA_FETCH_ANSWER_MARGIN_MS} ms`))
      }, Math.max(0, request.maxWaitMs) + REPLICA_FETCH_ANSWER_MARGIN_MS)
      this.pending.set(correlationId, { resolve, reject, callerCorrelationId: request.correlationId, timer })
      stream.write({ ...request, correlationId })
    })
  }

  offsetsForLeaderEpoch(request: broker.OffsetsForLeaderEpochRequest): Promise<broker.OffsetsForLeaderEpochResponse> {
    if (this.closed) return Promise.reject(new Error(`the channel to broker ${this.leaderId} is closed`))
    return new Promise((resolve, reject) => {
      this.client.offsetsForLeaderEpoch(request, new grpc.Metadata(), { deadline: Date.now() + OFFSETS_FOR_LEADER_EPOCH_TIMEOUT_MS }, (err, response) => {
        if (err !== null) reject(err)
        else resolve(response)
      })
    })
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    const stream = this.stream
    if (stream !== null) this.failStream(stream, new Error(`the channel to broker ${this.leaderId} was closed`))
    this.client.close()
  }

  private openStream(): grpc.ClientDuplexStream<broker.FetchRequest, broker.FetchResponse> {
    const stream = this.client.replicaFetch()
    this.stream = stream
    stream.on('data', (response: broker.FetchResponse) => {
      const p = this.pending.get(response.correlationId)
      if (p === undefined) {
        this.logger.warn({ leaderId: this.leaderId, correlationId: response.correlationId.toString() }, 'a replica fetch answer matches no request')
        return
      }
      this.pending.delete(response.correlationId)
      clearTimeout(p.timer)
      p.resolve({ ...response, correlationId: p.callerCorrelationId })
    })
    stream.on('error', (err) => this.failStream(stream, err))
    stream.on('end', () => this.failStream(stream, new Error(`broker ${this.leaderId} ended the replica fetch stream`)))
    return stream
  }

  /** Rejects every fetch in flight and drops the stream; the next fetch opens a new one. */
  private failStream(stream: grpc.ClientDuplexStream<broker.FetchRequest, broker.FetchResponse>, err: Error): void {
    if (this.stream !== stream) return
    this.stream = null
    stream.cancel()
    if (!this.closed) this.logger.debug({ leaderId: this.leaderId, err: errorMessage(err) }, 'the replica fetch stream failed')
    const pending = [...this.pending.values()]
    this.pending.clear()
    for (const p of pending) {
      clearTimeout(p.timer)
      p.reject(err)
    }
  }
}
