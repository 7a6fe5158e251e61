/**
 * Test support for the node and group tests that talk to real brokers over gRPC: a polling
 * wait, a promise around a unary BrokerService call, and loopback clients closed together.
 */
import * as grpc from '@grpc/grpc-js'
import { broker } from '@tributary/protocol'
import { BROKER_CHANNEL_OPTIONS } from '../server/server-limits.js'

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

/** BrokerService clients of loopback ports; closeAll() (in afterEach) closes every one opened so far. */
export function brokerClients(): { client(port: number): broker.BrokerServiceClient; closeAll(): void } {
  const open: broker.BrokerServiceClient[] = []
  return {
    client(port) {
      const c = new broker.BrokerServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), BROKER_CHANNEL_OPTIONS)
      open.push(c)
      return c
    },
    closeAll() {
      for (const c of open.splice(0)) c.close()
    },
  }
}
