/**
 * The small logger interface pure code takes. Only I/O layers import pino; they pass a
 * child logger ({ component, nodeId }) that satisfies this shape.
 * State transitions log at info as fixed sentences ("became leader"); traffic at debug.
 */
export interface Logger {
  debug(fields: object, msg: string): void
  info(fields: object, msg: string): void
  warn(fields: object, msg: string): void
  error(fields: object, msg: string): void
}

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
}
