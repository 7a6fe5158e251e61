/**
 * BrokerConnections: one gRPC channel (one HTTP/2 connection) per broker address, reused by
 * every request the client sends there, and one typed unary call helper that turns gRPC
 * failures into TributaryErrors (errors.ts: transportError).
 */
import * as grpc from '@grpc/grpc-js'
import { FastBrokerServiceClient, type broker } from '@tributary/protocol'
import { transportError } from '../errors.js'
import { CLIENT_LIMITS } from './limits.js'

export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall

/** Picks a method of the stub, bound to it: `(s) => s.produce.bind(s)`. */
export type MethodPicker<Req, Res> = (stub: broker.BrokerServiceClient) => UnaryMethod<Req, Res>

export class BrokerConnections {
  private readonly stubs = new Map<string, broker.BrokerServiceClient>()
  private readonly channelOptions: grpc.ChannelOptions

  constructor(clientId: string) {
    this.channelOptions = {
      'grpc.primary_user_agent': clientId,
      'grpc.keepalive_time_ms': CLIENT_LIMITS.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': CLIENT_LIMITS.keepaliveTimeoutMs,
      'grpc.keepalive_permit_without_calls': 1,
      // A restarted broker is found again quickly (the gRPC default backs off up to 120 s).
      'grpc.initial_reconnect_backoff_ms': CLIENT_LIMITS.reconnectBackoffMs,
      'grpc.max_reconnect_backoff_ms': CLIENT_LIMITS.reconnectBackoffMaxMs,
      'grpc.max_receive_message_length': CLIENT_LIMITS.messageBytesMax,
      'grpc.max_send_message_length': CLIENT_LIMITS.messageBytesMax,
      'grpc-node.flow_control_window': CLIENT_LIMITS.flowControlWindowBytes,
    }
  }

  stub(address: string): broker.BrokerServiceClient {
    let s = this.stubs.get(address)
    if (s === undefined) {
      // Produce requests encode, and fetch answers decode, without copying the records.
      s = new FastBrokerServiceClient(address, grpc.credentials.createInsecure(), this.channelOptions)
      this.stubs.set(address, s)
    }
    return s
  }

  /** One call with a deadline; rejects with a TributaryError (NETWORK_EXCEPTION, REQUEST_TIMED_OUT, ...). */
  call<Req, Res>(address: string, pick: MethodPicker<Req, Res>, request: Req, timeoutMs: number, context: string): Promise<Res> {
    return new Promise((resolve, reject) => {
      pick(this.stub(address))(request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) => {
        if (error !== null) reject(transportError(error, `${context} at ${address}`))
        else resolve(response)
      })
    })
  }

  get size(): number {
    return this.stubs.size
  }

  close(): void {
    for (const s of this.stubs.values()) s.close()
    this.stubs.clear()
  }
}
