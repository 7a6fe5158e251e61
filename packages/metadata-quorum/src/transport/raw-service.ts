/**
 * gRPC service definitions that hand the raw request bytes to the handler.
 *
 * Why: with the generated definitions, grpc-js decodes the request before our code runs and
 * answers a parse failure with INTERNAL. Decoding in the handler lets us answer malformed
 * input with INVALID_ARGUMENT (it is the caller's fault) and log it, and it keeps every
 * handler behind one try/catch so nothing a peer sends can throw out of a callback.
 */
import * as grpc from '@grpc/grpc-js'
import type { BinaryWriter } from '@bufbuild/protobuf/wire'
import type { Logger } from '../util/logger.js'
import { WarningThrottle } from './warning-throttle.js'

interface GeneratedMethod {
  readonly path: string
  readonly requestStream: boolean
  readonly responseStream: boolean
}

const identity = (bytes: Buffer): Buffer => bytes

/** The same service (paths, streaming flags) with identity serializers on both sides. */
export function rawServiceDefinition(generated: Readonly<Record<string, GeneratedMethod>>): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {}
  for (const [name, method] of Object.entries(generated)) {
    out[name] = {
      path: method.path,
      requestStream: method.requestStream,
      responseStream: method.responseStream,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    }
  }
  return out
}

/** Thrown by a handler to answer with a specific gRPC status (UNAVAILABLE while starting...). */
export class CallStatusError extends Error {
  readonly code: grpc.status

  constructor(code: grpc.status, details: string) {
    super(details)
    this.name = 'CallStatusError'
    this.code = code
  }
}

/**
 * Bounds the calls of one service being handled at once (shared by its handlers); beyond
 * `limit` a call is refused with RESOURCE_EXHAUSTED, and the warning is throttled.
 */
export class InflightLimit {
  private count = 0
  readonly refusals: WarningThrottle

  constructor(readonly limit: number, warningIntervalMs: number) {
    this.refusals = new WarningThrottle(warningIntervalMs)
  }

  get inFlight(): number {
    return this.count
  }

  tryEnter(): boolean {
    if (this.count >= this.limit) return false
    this.count++
    return true
  }

  leave(): void {
    this.count--
  }
}

export interface RawHandlerLimits {
  /** Requests larger than this are refused with RESOURCE_EXHAUSTED before decoding. */
  readonly maxRequestBytes?: number
  readonly inflight?: InflightLimit
}

export interface MessageCodec<T> {
  decode(input: Uint8Array): T
  encode(message: T): BinaryWriter
}

/**
 * A unary handler over raw bytes: check the limits (RESOURCE_EXHAUSTED), decode
 * (INVALID_ARGUMENT on failure), run `handle`, encode. A CallStatusError becomes its status;
 * any other error is logged and becomes INTERNAL.
 */
export function rawUnaryHandler<Req, Res>(
  requestCodec: MessageCodec<Req>,
  responseCodec: MessageCodec<Res>,
  logger: Logger,
  method: string,
  handle: (request: Req, call: grpc.ServerUnaryCall<Buffer, Buffer>) => Promise<Res> | Res,
  limits: RawHandlerLimits = {},
): grpc.handleUnaryCall<Buffer, Buffer> {
  return (call, rawCallback) => {
    const { maxRequestBytes, inflight } = limits
    if (maxRequestBytes !== undefined && call.request.length > maxRequestBytes) {
      logger.warn({ method, peer: call.getPeer(), bytes: call.request.length, limit: maxRequestBytes }, 'refused an oversized request')
      rawCallback({ code: grpc.status.RESOURCE_EXHAUSTED, details: `${method} request of ${call.request.length} bytes exceeds the limit of ${maxRequestBytes} bytes` })
      return
    }
    if (inflight !== undefined && !inflight.tryEnter()) {
      const verdict = inflight.refusals.next()
      if (verdict.log) logger.warn({ method, limit: inflight.limit, alsoRefusedSinceLastWarning: verdict.suppressed }, 'refused a call: too many calls in flight')
      rawCallback({ code: grpc.status.RESOURCE_EXHAUSTED, details: `more than ${inflight.limit} calls in flight; retry later` })
      return
    }
    let answered = false
    const callback: grpc.sendUnaryData<Buffer> = (err, value) => {
      if (answered) return
      answered = true
      inflight?.leave()
      rawCallback(err, value)
    }
    let request: Req
    try {
      request = requestCodec.decode(call.request)
    } catch (err) {
      logger.warn({ method, peer: call.getPeer(), err: errorMessage(err) }, 'rejected a malformed request')
      callback({ code: grpc.status.INVALID_ARGUMENT, details: `malformed ${method} request: ${errorMessage(err)}` })
      return
    }
    let result: Promise<Res>
    try {
      result = Promise.resolve(handle(request, call))
    } catch (err) {
      result = Promise.reject(err)
    }
    result.then(
      (response) => {
        let bytes: Buffer
        try {
          bytes = Buffer.from(responseCodec.encode(response).finish())
        } catch (err) {
          logger.error({ method, err: errorMessage(err) }, 'cannot encode a response')
          callback({ code: grpc.status.INTERNAL, details: 'cannot encode the response' })
          return
        }
        callback(null, bytes)
      },
      (err: unknown) => {
        if (err instanceof CallStatusError) {
          callback({ code: err.code, details: err.message })
          return
        }
        logger.error({ method, err: errorMessage(err) }, 'a request handler failed')
        callback({ code: grpc.status.INTERNAL, details: errorMessage(err) })
      },
    )
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
