/**
 * GrpcTransport: carries the Raft core's one-way messages over unary gRPC calls of
 * RaftService (proto/quorum.proto).
 *
 * Outbound: a request message becomes a unary call to its peer (one grpc.Client, hence one
 * HTTP/2 channel, per peer, reused), with a deadline of requestTimeoutMs (plus the long-poll
 * wait for a Fetch). The response becomes a message delivered to the handler with the
 * requestId the core chose. Calls are made with waitForReady: one made while the channel is
 * between connection attempts (its peer restarted a moment ago) waits for the next attempt,
 * within its deadline, instead of failing at once with the error of the previous attempt
 * (a stale ECONNREFUSED that would tell the core a live peer is unreachable). A call already
 * running when the peer dies still fails at once, so the core's hint stays fast; the price
 * is that a call started while the peer is down is reported at its deadline, not at once. A failed call (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
 * a malformed answer, ...) is reported with onUnreachable so the driver can tell the core,
 * which then backs off instead of waiting for its own request timeout.
 *
 * Inbound: a call is decoded, validated and delivered as a request message whose requestId
 * the transport assigns; the call stays open until the core emits the response with that
 * `to`/requestId (KIP-595 leaders hold fetches as long polls), the caller cancels, or
 * INBOUND_CALL_HOLD_MAX_MS passes.
 *
 * Invariants:
 *   - an inbound requestId is unique for the life of the transport, so a response can only
 *     complete the call it was made for (and must name the same peer);
 *   - at most MAX_PENDING_INBOUND_CALLS_PER_SENDER inbound calls per sender id, at most
 *     MAX_PENDING_INBOUND_CALLS from senders that are not configured voters (voters are
 *     exempt from that shared cap, so a flood of unknown ids cannot starve the quorum), and
 *     MAX_INFLIGHT_CALLS_PER_PEER outbound calls per peer exist at once;
 *   - warnings a peer can trigger are logged at most once per REPEATED_WARNING_INTERVAL_MS;
 *   - bytes from the network never throw out of a gRPC callback (malformed input is
 *     answered with INVALID_ARGUMENT and logged).
 */
import * as grpc from '@grpc/grpc-js'
import { quorum, type NodeId } from '@tributary/protocol'
import { isRequest, type RaftMessage, type RaftRequest, type RaftResponse } from '../raft/types.js'
import type { Logger } from '../util/logger.js'
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  RAFT_METHODS,
  type RaftMethod,
} from './raft-message-codec.js'
import { errorMessage, rawServiceDefinition, rawUnaryHandler } from './raw-service.js'
import type { Transport, TransportHandler } from './transport.js'
import {
  CHANNEL_OPTIONS,
  INBOUND_CALL_HOLD_MAX_MS,
  RAFT_CALLS_WAIT_FOR_READY,
  MAX_INFLIGHT_CALLS_PER_PEER,
  MAX_PENDING_INBOUND_CALLS,
  MAX_PENDING_INBOUND_CALLS_PER_SENDER,
  REPEATED_WARNING_INTERVAL_MS,
} from './transport-limits.js'
import { WarningThrottle } from './warning-throttle.js'

export interface GrpcTransportOptions {
  readonly nodeId: NodeId
  /** host:port of each node this one sends requests to (the other voters). */
  readonly peers: ReadonlyMap<NodeId, string>
  /** Deadline of an outbound call; a Fetch adds its maxWaitMs. Raft's requestTimeoutMs. */
  readonly requestTimeoutMs: number
  readonly logger: Logger
}

/** Answers DescribeQuorum, which rides on RaftService but is not a Raft message. */
export type DescribeQuorumHandler = (
  request: quorum.DescribeQuorumRequest,
  call: grpc.ServerUnaryCall<Buffer, Buffer>,
) => Promise<quorum.DescribeQuorumResponse> | quorum.DescribeQuorumResponse

interface PendingInbound {
  readonly from: NodeId
  readonly method: RaftMethod
  readonly callback: grpc.sendUnaryData<Buffer>
  readonly timer: NodeJS.Timeout
}

interface PeerChannel {
  readonly address: string
  readonly client: grpc.Client
  readonly inflight: Set<grpc.ClientUnaryCall>
}

const RAW_RAFT_SERVICE = rawServiceDefinition(quorum.RaftServiceService)

const identity = (bytes: Buffer): Buffer => bytes

export class GrpcTransport implements Transport {
  private readonly nodeId: NodeId
  private readonly peers: ReadonlyMap<NodeId, string>
  private readonly requestTimeoutMs: number
  private readonly logger: Logger
  private handler: TransportHandler | null = null
  private closed = false
  private readonly channels = new Map<NodeId, PeerChannel>()
  private readonly pendingInbound = new Map<number, PendingInbound>()
  private nextInboundRequestId = 1
  /** Held inbound calls per sender id, and the number held from senders that are not voters. */
  private readonly pendingBySender = new Map<NodeId, number>()
  private pendingFromOthers = 0
  private readonly refusalWarnings = new WarningThrottle(REPEATED_WARNING_INTERVAL_MS)
  private readonly malformedWarnings = new WarningThrottle(REPEATED_WARNING_INTERVAL_MS)

  constructor(options: GrpcTransportOptions) {
    this.nodeId = options.nodeId
    this.peers = options.peers
    this.requestTimeoutMs = options.requestTimeoutMs
    this.logger = options.logger
  }

  setHandler(handler: TransportHandler): void {
    this.handler = handler
  }

  /** Registers RaftService on `server`. Calls that arrive before setHandler get UNAVAILABLE. */
  bindTo(server: grpc.Server, describeQuorum: DescribeQuorumHandler): void {
    const impl: grpc.UntypedServiceImplementation = {}
    for (const method of RAFT_METHODS) impl[method] = this.inboundHandler(method)
    impl['describeQuorum'] = rawUnaryHandler(
      quorum.DescribeQuorumRequest,
      quorum.DescribeQuorumResponse,
      this.logger,
      'DescribeQuorum',
      describeQuorum,
    )
    server.addService(RAW_RAFT_SERVICE, impl)
  }

  /** Number of inbound calls waiting for the core; for tests and status. */
  get pendingInboundCount(): number {
    return this.pendingInbound.size
  }

  send(message: RaftMessage): void {
    if (this.closed) return
    if (message.from !== this.nodeId) {
      this.logger.error({ from: message.from, type: message.body.type }, 'dropped a message not sent by this node')
      return
    }
    if (isRequest(message.body)) this.sendRequest(message, message.body)
    else this.sendResponse(message, message.body)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const [requestId, pending] of this.pendingInbound) {
      clearTimeout(pending.timer)
      pending.callback({ code: grpc.status.UNAVAILABLE, details: 'the node is shutting down' })
      this.removePending(requestId, pending)
    }
    for (const channel of this.channels.values()) {
      for (const call of channel.inflight) call.cancel()
      channel.inflight.clear()
      channel.client.close()
    }
    this.channels.clear()
  }

  // ---- inbound -------------------------------------------------------------------------

  private inboundHandler(method: RaftMethod): grpc.handleUnaryCall<Buffer, Buffer> {
    return (call, callback) => {
      const handler = this.handler
      if (handler === null || this.closed) {
        callback({ code: grpc.status.UNAVAILABLE, details: 'the node is not running' })
        return
      }
      const decoded = decodeRequest(method, call.request)
      if (decoded.kind === 'malformed') {
        this.warnThrottled(this.malformedWarnings, { method, peer: call.getPeer(), reason: decoded.reason }, 'rejected a malformed request')
        callback({ code: grpc.status.INVALID_ARGUMENT, details: decoded.reason })
        return
      }
      const { from, body } = decoded.value
      if (from === this.nodeId) {
        this.warnThrottled(this.malformedWarnings, { method, peer: call.getPeer() }, 'rejected a request that claims to come from this node')
        callback({ code: grpc.status.INVALID_ARGUMENT, details: `sender id ${from} is this node's id` })
        return
      }
      const refusal = this.admissionRefusal(from)
      if (refusal !== null) {
        this.warnThrottled(this.refusalWarnings, { method, from, peer: call.getPeer(), reason: refusal }, 'refused an inbound call')
        callback({ code: grpc.status.RESOURCE_EXHAUSTED, details: refusal })
        return
      }
      const requestId = this.nextInboundRequestId++
      const timer = setTimeout(() => this.expireInbound(requestId), INBOUND_CALL_HOLD_MAX_MS)
      timer.unref()
      this.addPending(requestId, { from, method, callback, timer })
      call.on('cancelled', () => {
        const pending = this.pendingInbound.get(requestId)
        if (pending === undefined) return
        clearTimeout(pending.timer)
        this.removePending(requestId, pending)
      })
      this.logger.debug({ from, requestId, type: body.type }, 'received request')
      try {
        handler.onMessage({ from, to: this.nodeId, requestId, body })
      } catch (err) {
        // The driver owns failures of the core (it stops the node); the call must still be
        // answered, and nothing may throw out of a gRPC callback.
        this.logger.error({ from, requestId, err: errorMessage(err) }, 'the message handler failed')
        this.failInbound(requestId, grpc.status.INTERNAL, errorMessage(err))
      }
    }
  }

  /**
   * Why a call from `from` cannot be held now, or null. Configured voters are only bound per
   * sender, so unknown ids (a flood, or observers) can never crowd out the quorum's own
   * fetches and votes; everyone else also shares MAX_PENDING_INBOUND_CALLS.
   */
  private admissionRefusal(from: NodeId): string | null {
    const held = this.pendingBySender.get(from) ?? 0
    if (held >= MAX_PENDING_INBOUND_CALLS_PER_SENDER) return `more than ${MAX_PENDING_INBOUND_CALLS_PER_SENDER} pending calls from node ${from}`
    if (!this.peers.has(from) && this.pendingFromOthers >= MAX_PENDING_INBOUND_CALLS) {
      return `more than ${MAX_PENDING_INBOUND_CALLS} pending calls from nodes that are not voters`
    }
    return null
  }

  private addPending(requestId: number, pending: PendingInbound): void {
    this.pendingInbound.set(requestId, pending)
    this.pendingBySender.set(pending.from, (this.pendingBySender.get(pending.from) ?? 0) + 1)
    if (!this.peers.has(pending.from)) this.pendingFromOthers++
  }

  private removePending(requestId: number, pending: PendingInbound): void {
    if (!this.pendingInbound.delete(requestId)) return
    const held = (this.pendingBySender.get(pending.from) ?? 1) - 1
    if (held === 0) this.pendingBySender.delete(pending.from)
    else this.pendingBySender.set(pending.from, held)
    if (!this.peers.has(pending.from)) this.pendingFromOthers--
  }

  /** Peer-triggered warnings are throttled: a flood must not grow the log without bound. */
  private warnThrottled(throttle: WarningThrottle, fields: Record<string, unknown>, message: string): void {
    const verdict = throttle.next()
    if (verdict.log) this.logger.warn({ ...fields, alsoSinceLastWarning: verdict.suppressed }, message)
  }

  private expireInbound(requestId: number): void {
    const pending = this.pendingInbound.get(requestId)
    if (pending === undefined) return
    this.logger.debug({ from: pending.from, requestId, method: pending.method }, 'expired an unanswered inbound call')
    this.failInbound(requestId, grpc.status.DEADLINE_EXCEEDED, 'the request was not answered in time')
  }

  private failInbound(requestId: number, code: grpc.status, details: string): void {
    const pending = this.pendingInbound.get(requestId)
    if (pending === undefined) return
    clearTimeout(pending.timer)
    this.removePending(requestId, pending)
    pending.callback({ code, details })
  }

  private sendResponse(message: RaftMessage, body: RaftResponse): void {
    const pending = this.pendingInbound.get(message.requestId)
    if (pending === undefined || pending.from !== message.to) {
      // The caller gave up (deadline, cancel) or the call expired: Raft treats it as lost.
      this.logger.debug({ to: message.to, requestId: message.requestId, type: body.type }, 'dropped a response to a call that is gone')
      return
    }
    clearTimeout(pending.timer)
    this.removePending(message.requestId, pending)
    const bytes = encodeResponse(pending.method, body)
    pending.callback(null, bytes)
  }

  // ---- outbound ------------------------------------------------------------------------

  private sendRequest(message: RaftMessage, body: RaftRequest): void {
    const peer = message.to
    const channel = this.channelTo(peer)
    if (channel === null) {
      this.reportUnreachableLater(peer, 'no address is known for this node')
      return
    }
    if (channel.inflight.size >= MAX_INFLIGHT_CALLS_PER_PEER) {
      this.reportUnreachableLater(peer, `more than ${MAX_INFLIGHT_CALLS_PER_PEER} calls in flight`)
      return
    }
    const { method, bytes } = encodeRequest(this.nodeId, body)
    const waitMs = body.type === 'fetch_request' ? body.maxWaitMs : 0
    const deadline = Date.now() + this.requestTimeoutMs + waitMs
    const path = quorum.RaftServiceService[method].path
    this.logger.debug({ to: peer, requestId: message.requestId, type: body.type }, 'sending request')
    const call: grpc.ClientUnaryCall = channel.client.makeUnaryRequest(
      path,
      identity,
      identity,
      bytes,
      new grpc.Metadata({ waitForReady: RAFT_CALLS_WAIT_FOR_READY }),
      { deadline },
      (err: grpc.ServiceError | null, value?: Buffer) => {
        channel.inflight.delete(call)
        if (this.closed) return
        if (err !== null || value === undefined) {
          const reason = err === null ? 'empty response' : `${grpc.status[err.code] ?? err.code}: ${err.details}`
          this.logger.debug({ to: peer, requestId: message.requestId, method, reason }, 'request failed')
          this.handler?.onUnreachable(peer, reason)
          return
        }
        const decoded = decodeResponse(method, value)
        if (decoded.kind === 'malformed') {
          this.logger.warn({ from: peer, method, reason: decoded.reason }, 'dropped a malformed response')
          this.handler?.onUnreachable(peer, `malformed response: ${decoded.reason}`)
          return
        }
        this.handler?.onMessage({ from: peer, to: this.nodeId, requestId: message.requestId, body: decoded.value })
      },
    )
    channel.inflight.add(call)
  }

  private channelTo(peer: NodeId): PeerChannel | null {
    const existing = this.channels.get(peer)
    if (existing !== undefined) return existing
    const address = this.peers.get(peer)
    if (address === undefined) return null
    const client = new grpc.Client(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS)
    const channel: PeerChannel = { address, client, inflight: new Set() }
    this.channels.set(peer, channel)
    return channel
  }

  /** Never call the handler from inside send(): the driver may be mid-step. */
  private reportUnreachableLater(peer: NodeId, reason: string): void {
    setImmediate(() => {
      if (!this.closed) this.handler?.onUnreachable(peer, reason)
    })
  }
}
