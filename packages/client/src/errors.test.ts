import * as grpc from '@grpc/grpc-js'
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '@tributary/protocol'
import { transportError } from './errors.js'

function serviceError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() })
}

describe('transportError', () => {
  it('treats a stream reset without a status (INTERNAL, RST_STREAM) as a retriable network failure', () => {
    const e = transportError(serviceError(grpc.status.INTERNAL, 'Received RST_STREAM with code 0 (Call ended without gRPC status)'), 'Produce')
    expect(e.code).toBe(ErrorCode.NETWORK_EXCEPTION.code)
    expect(e.retriable).toBe(true)
  })

  it('keeps any other INTERNAL non-retriable, and maps the usual statuses', () => {
    expect(transportError(serviceError(grpc.status.INTERNAL, 'Failed to parse server response'), 'Produce').retriable).toBe(false)
    expect(transportError(serviceError(grpc.status.UNAVAILABLE, 'No connection established'), 'Produce').code).toBe(ErrorCode.NETWORK_EXCEPTION.code)
    expect(transportError(serviceError(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded'), 'Produce').code).toBe(ErrorCode.REQUEST_TIMED_OUT.code)
  })
})
