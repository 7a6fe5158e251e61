/**
 * Routes grpc-js's own diagnostics into our logger. By default grpc-js prints them to stderr
 * ("E No address added ..."), and a node's stderr is reserved for its one-line errors.
 */
import * as grpc from '@grpc/grpc-js'
import type { Logger } from '../util/logger.js'

export function routeGrpcLogs(logger: Logger): void {
  grpc.setLogger({ error: (...args: unknown[]) => logger.warn({ component: 'grpc' }, args.map(String).join(' ')) })
  grpc.setLogVerbosity(grpc.logVerbosity.ERROR)
}
