/**
 * gRPC service definitions that hand the raw request bytes to the handler.
 *
 * Why: with the generated definitions, grpc-js decodes the request before our code runs and
 * answers a parse failure with INTERNAL. Decoding in the handler lets us answer malformed
 * input with INVALID_ARGUMENT (it is the caller's fault) and log it, and it keeps every
 * handler behind one try/catch so nothing a peer sends can throw out of a callback.
 */
import type { EventEmitter } from 'node:events'
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

/** The sending side of a server stream, in messages; `signal` aborts when the call ends for any reason. */
export interface RawStreamWriter<Res> {
  /** Encodes and writes one message; false once the call has ended (the message is dropped). */
  write(message: Res): boolean
  /** Ends the call with status OK (idempotent). */
  end(): void
  /** Ends the call with an error status (idempotent). */
  fail(code: grpc.status, details: string): void
  /** Aborted when the call ends: ended by us, cancelled by the caller, or its connection closed. */
  readonly signal: AbortSignal
}

/**
 * A server-streaming handler over raw bytes. The limits apply as for unary calls; `inflight`
 * counts open streams until each ends, so it bounds them. `handle` owns the stream: it
 * writes, ends it, or watches `signal` to learn that the caller went away (a closed
 * connection ends every stream on it: BrokerSession relies on that).
 */
export function rawServerStreamHandler<Req, Res>(
  requestCodec: MessageCodec<Req>,
  responseCodec: MessageCodec<Res>,
  logger: Logger,
  method: string,
  handle: (request: Req, stream: RawStreamWriter<Res>, call: grpc.ServerWritableStream<Buffer, Buffer>) => void,
  limits: RawHandlerLimits = {},
): grpc.handleServerStreamingCall<Buffer, Buffer> {
  return (call) => {
    const { maxRequestBytes, inflight } = limits
    if (maxRequestBytes !== undefined && call.request.length > maxRequestBytes) {
      logger.warn({ method, peer: call.getPeer(), bytes: call.request.length, limit: maxRequestBytes }, 'refused an oversized request')
      call.emit('error', statusError(grpc.status.RESOURCE_EXHAUSTED, `${method} request of ${call.request.length} bytes exceeds the limit of ${maxRequestBytes} bytes`))
      return
    }
    if (!enterStream(inflight, call, logger, method)) return
    const ended = new AbortController()
    const finish = (): void => {
      if (ended.signal.aborted) return
      inflight?.leave()
      ended.abort()
    }
    onStreamEnd(call, logger, method, finish)
    const writer: RawStreamWriter<Res> = {
      signal: ended.signal,
      write: (message) => {
        if (ended.signal.aborted) return false
        try {
          call.write(Buffer.from(responseCodec.encode(message).finish()))
          return true
        } catch (err) {
          logger.error({ method, err: errorMessage(err) }, 'cannot write a stream message')
          writer.fail(grpc.status.INTERNAL, 'cannot encode a message')
          return false
        }
      },
      end: () => {
        if (ended.signal.aborted) return
        finish()
        call.end()
      },
      fail: (code, details) => {
        if (ended.signal.aborted) return
        finish()
        call.emit('error', statusError(code, details))
      },
    }
    let request: Req
    try {
      request = requestCodec.decode(call.request)
    } catch (err) {
      logger.warn({ method, peer: call.getPeer(), err: errorMessage(err) }, 'rejected a malformed request')
      writer.fail(grpc.status.INVALID_ARGUMENT, `malformed ${method} request: ${errorMessage(err)}`)
      return
    }
    try {
      handle(request, writer, call)
    } catch (err) {
      if (err instanceof CallStatusError) {
        writer.fail(err.code, err.message)
        return
      }
      logger.error({ method, err: errorMessage(err) }, 'a stream handler failed')
      writer.fail(grpc.status.INTERNAL, errorMessage(err))
    }
  }
}

export interface RawBidiLimits extends RawHandlerLimits {
  /** Requests received on one stream and not yet answered; beyond it the stream fails with RESOURCE_EXHAUSTED. */
  readonly maxQueuedRequests: number
}

/**
 * A bidirectional stream whose requests are handled one at a time, in order, each answered
 * with one response (BrokerService.ReplicaFetch: the follower matches answers by
 * correlation id). `inflight` counts open streams. A request that is oversized or malformed
 * fails the whole stream (INVALID_ARGUMENT / RESOURCE_EXHAUSTED): after it the order of
 * answers would mean nothing. `signal` aborts when the stream ends, so a long poll in
 * `handle` can stop waiting.
 */
export function rawBidiStreamHandler<Req, Res>(
  requestCodec: MessageCodec<Req>,
  responseCodec: MessageCodec<Res>,
  logger: Logger,
  method: string,
  handle: (request: Req, signal: AbortSignal, call: grpc.ServerDuplexStream<Buffer, Buffer>) => Promise<Res>,
  limits: RawBidiLimits,
): grpc.handleBidiStreamingCall<Buffer, Buffer> {
  return (call) => {
    const { maxRequestBytes, inflight, maxQueuedRequests } = limits
    if (!enterStream(inflight, call, logger, method)) return
    const ended = new AbortController()
    const queue: Buffer[] = []
    let busy = false
    let inputDone = false
    const finish = (): void => {
      if (ended.signal.aborted) return
      inflight?.leave()
      queue.length = 0
      ended.abort()
    }
    const fail = (code: grpc.status, details: string): void => {
      if (ended.signal.aborted) return
      finish()
      call.emit('error', statusError(code, details))
    }
    const pump = (): void => {
      if (busy || ended.signal.aborted) return
      const bytes = queue.shift()
      if (bytes === undefined) {
        if (inputDone) {
          finish()
          call.end()
        }
        return
      }
      let request: Req
      try {
        request = requestCodec.decode(bytes)
      } catch (err) {
        logger.warn({ method, peer: call.getPeer(), err: errorMessage(err) }, 'rejected a malformed request')
        fail(grpc.status.INVALID_ARGUMENT, `malformed ${method} request: ${errorMessage(err)}`)
        return
      }
      busy = true
      let result: Promise<Res>
      try {
        result = handle(request, ended.signal, call)
      } catch (err) {
        result = Promise.reject(err)
      }
      result.then(
        (response) => {
          busy = false
          if (ended.signal.aborted) return
          let out: Buffer
          try {
            out = Buffer.from(responseCodec.encode(response).finish())
          } catch (err) {
            logger.error({ method, err: errorMessage(err) }, 'cannot encode a response')
            fail(grpc.status.INTERNAL, 'cannot encode a response')
            return
          }
          call.write(out)
          pump()
        },
        (err: unknown) => {
          busy = false
          if (err instanceof CallStatusError) {
            fail(err.code, err.message)
            return
          }
          if (ended.signal.aborted) return
          logger.error({ method, err: errorMessage(err) }, 'a request handler failed')
          fail(grpc.status.INTERNAL, errorMessage(err))
        },
      )
    }
    call.on('data', (bytes: Buffer) => {
      if (ended.signal.aborted) return
      if (maxRequestBytes !== undefined && bytes.length > maxRequestBytes) {
        logger.warn({ method, peer: call.getPeer(), bytes: bytes.length, limit: maxRequestBytes }, 'refused an oversized request')
        fail(grpc.status.RESOURCE_EXHAUSTED, `${method} request of ${bytes.length} bytes exceeds the limit of ${maxRequestBytes} bytes`)
        return
      }
      if (queue.length + (busy ? 1 : 0) >= maxQueuedRequests) {
        logger.warn({ method, peer: call.getPeer(), limit: maxQueuedRequests }, 'refused a stream: too many unanswered requests')
        fail(grpc.status.RESOURCE_EXHAUSTED, `more than ${maxQueuedRequests} unanswered ${method} requests on one stream`)
        return
      }
      queue.push(bytes)
      pump()
    })
    call.on('end', () => {
      inputDone = true
      pump()
    })
    onStreamEnd(call, logger, method, finish)
  }
}

/**
 * Takes a slot of `inflight` (when bounded) for a new stream; false, after refusing the
 * stream with RESOURCE_EXHAUSTED (and a throttled warning), when too many are open.
 */
function enterStream(inflight: InflightLimit | undefined, call: EventEmitter, logger: Logger, method: string): boolean {
  if (inflight === undefined || inflight.tryEnter()) return true
  const verdict = inflight.refusals.next()
  if (verdict.log) logger.warn({ method, limit: inflight.limit, alsoRefusedSinceLastWarning: verdict.suppressed }, 'refused a stream: too many open')
  call.emit('error', statusError(grpc.status.RESOURCE_EXHAUSTED, `more than ${inflight.limit} ${method} streams open; retry later`))
  return false
}

/** Runs `finish` when the stream ends for any reason: cancelled by the caller, closed, or failed. */
function onStreamEnd(call: EventEmitter, logger: Logger, method: string, finish: () => void): void {
  call.on('cancelled', finish)
  call.on('close', finish)
  call.on('error', (err: unknown) => {
    logger.debug({ method, err: errorMessage(err) }, 'a stream failed')
    finish()
  })
}

function statusError(code: grpc.status, details: string): grpc.ServiceError {
  const err = new Error(details) as grpc.ServiceError
  err.code = code
  err.details = details
  err.metadata = new grpc.Metadata()
  return err
}
