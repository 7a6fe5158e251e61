/**
 * Test support for the node and group tests that talk to real brokers over gRPC: a polling
 * wait and a promise around a unary BrokerService call.
 */
import * as grpc from '@grpc/grpc-js'
import type { broker } from '@tributary/protocol'

/**
 * Polls `probe` until it returns a value other than null (a throw counts as "not yet"), or
 * throws after `timeoutMs` naming `what` and the last error seen.
 */
export async function until<T>(probe: () => Promise<T | null> | T | null, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown = null
  for (;;) {
    try {
      const value = await probe()
      if (value !== null) return value
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last instanceof Error ? ` (${last.message})` : ''}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

type Unary<Req, Res> = (request: Req, metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: (err: grpc.ServiceError | null, res: Res) => void) => grpc.ClientUnaryCall

/** One unary call with a deadline; a gRPC status error rejects. */
export function call<Req, Res>(method: Unary<Req, Res>, client: broker.BrokerServiceClient, request: Req, timeoutMs = 5000): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err === null ? resolve(res) : reject(err)))
  })
}
