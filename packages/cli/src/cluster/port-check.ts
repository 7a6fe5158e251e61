/**
 * Before spawning anything, check that every port the cluster will listen on is free, so a
 * second `npm start` (or anything else on 19092) gets one clear line naming the port instead
 * of N nodes failing at once. The check binds each port on both loopback addresses, since
 * `localhost` may resolve to either; an address the machine lacks (no IPv6) is skipped. A port
 * can still be taken between the check and the node's bind; the node then reports it itself.
 */
import { createServer } from 'node:net'

const LOOPBACK_HOSTS = ['127.0.0.1', '::1'] as const
/** Errors that mean "this machine has no such address", not "the port is taken". */
const ABSENT_ADDRESS_CODES = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT'])

export interface PortUse {
  readonly port: number
  /** For the message: "node 1's controller listener". */
  readonly what: string
}

type Probe = 'free' | 'busy' | 'absent'

function probe(port: number, host: string): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve('busy')
      else if (err.code !== undefined && ABSENT_ADDRESS_CODES.has(err.code)) resolve('absent')
      else reject(err)
    })
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve('free')))
  })
}

/** The first port of `uses` that something else holds, or null when all are free. */
export async function findBusyPort(uses: readonly PortUse[]): Promise<PortUse | null> {
  for (const use of uses) {
    for (const host of LOOPBACK_HOSTS) {
      if ((await probe(use.port, host)) === 'busy') return use
    }
  }
  return null
}
