/**
 * The client's errors. Every failure a caller sees is a TributaryError (from
 * @tributary/protocol): the Kafka error code, its name, `retriable` and `refreshMetadata`.
 * Transport failures are mapped onto Kafka's codes as the Java client does: no answer
 * (connection refused, reset, broker gone) is NETWORK_EXCEPTION, a call past its deadline
 * is REQUEST_TIMED_OUT; both are retriable.
 *
 * When the retry helper gives up (the delivery timeout passed, or a non-retriable error
 * came after retriable ones), it throws RetriesExhaustedError: the last error's code, plus
 * `errors`, every attempt's error in order (AggregateError's shape, as platformatic/kafka's
 * MultipleErrors).
 */
import * as grpc from '@grpc/grpc-js'
import { ErrorCode, TributaryError } from '@tributary/protocol'

export { TributaryError }

/** A Kafka error code from a response body, with where it came from. */
export function kafkaError(code: number, context: string, detail = ''): TributaryError {
  const e = new TributaryError(code)
  const message = `${context}: ${e.errorName}${detail === '' ? '' : ` (${detail})`}`
  return new TributaryError(code, message)
}

/** A gRPC failure as a Kafka error: transport problems are retriable; the rest are not. */
export function transportError(error: grpc.ServiceError, context: string): TributaryError {
  const status = grpc.status[error.code] ?? `GRPC_${error.code}`
  const message = `${context}: gRPC ${status}${error.details === '' ? '' : ` (${error.details})`}`
  switch (error.code) {
    case grpc.status.DEADLINE_EXCEEDED:
      return new TributaryError(ErrorCode.REQUEST_TIMED_OUT, message, { cause: error })
    case grpc.status.UNAVAILABLE:
    case grpc.status.CANCELLED:
    case grpc.status.RESOURCE_EXHAUSTED:
    case grpc.status.ABORTED:
      return new TributaryError(ErrorCode.NETWORK_EXCEPTION, message, { cause: error })
    case grpc.status.INVALID_ARGUMENT:
      return new TributaryError(ErrorCode.INVALID_REQUEST, message, { cause: error })
    case grpc.status.UNIMPLEMENTED:
      return new TributaryError(ErrorCode.UNSUPPORTED_VERSION, message, { cause: error })
    case grpc.status.INTERNAL:
      // grpc-js reports a stream the server reset without a status (RST_STREAM, e.g. a
      // keepalive that timed out while the broker was paused) as INTERNAL: the connection was
      // cut, not the request judged, so it is retriable like UNAVAILABLE. Other INTERNALs
      // (a response that does not decode) stay non-retriable.
      return /RST_STREAM/.test(error.details)
        ? new TributaryError(ErrorCode.NETWORK_EXCEPTION, message, { cause: error })
        : new TributaryError(ErrorCode.UNKNOWN_SERVER_ERROR, message, { cause: error })
    default:
      return new TributaryError(ErrorCode.UNKNOWN_SERVER_ERROR, message, { cause: error })
  }
}

/** Any thrown value as a TributaryError (programmer errors keep their message, non-retriable). */
export function asTributaryError(err: unknown): TributaryError {
  if (err instanceof TributaryError) return err
  const message = err instanceof Error ? err.message : String(err)
  return new TributaryError(ErrorCode.UNKNOWN_SERVER_ERROR, message, { cause: err })
}

/** Retries ran out: the last error's code and flags, with every attempt's error. */
export class RetriesExhaustedError extends TributaryError {
  /** Every attempt's error, oldest first (as AggregateError.errors). */
  readonly errors: readonly TributaryError[]

  constructor(message: string, errors: readonly TributaryError[]) {
    const last = errors[errors.length - 1]
    super(last?.code ?? ErrorCode.UNKNOWN_SERVER_ERROR.code, `${message} after ${errors.length} attempt(s)${last === undefined ? '' : `; last: ${last.message}`}`, { cause: last })
    this.name = 'RetriesExhaustedError'
    this.errors = errors
  }
}

/** The client (or one of its producers) is closed: a caller's mistake, not a Kafka error. */
export class ClientClosedError extends Error {
  constructor(what: string) {
    super(`${what} is closed`)
    this.name = 'ClientClosedError'
  }
}
