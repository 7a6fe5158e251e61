/**
 * Formatting for the simulator's event trace: one line per event, "time node what".
 * Only called when tracing, so the hot path never builds strings.
 */
import type { NodeId } from '@tributary/protocol'
import type { RaftBody, RaftMessage } from '../raft/types.js'
import { silentLogger, type Logger } from '../util/logger.js'

export type TraceSink = (line: string) => void

export function traceLine(nowMs: number, nodeId: NodeId | null, what: string): string {
  const t = `${nowMs}ms`.padStart(9)
  const n = (nodeId === null ? 'sim' : `n${nodeId}`).padEnd(4)
  return `${t} ${n} ${what}`
}

/**
 * Loggers that write into the trace, one per node (cached), or silentLogger for every node
 * when `trace` is null (not tracing). Per-message debug logs would drown the trace, so they
 * are dropped: the simulators trace messages themselves.
 */
export class TraceLoggers {
  private readonly loggers = new Map<NodeId, Logger>()

  constructor(private readonly trace: ((nodeId: NodeId, what: string) => void) | null) {}

  logger(nodeId: NodeId): Logger {
    const trace = this.trace
    if (trace === null) return silentLogger
    let logger = this.loggers.get(nodeId)
    if (logger === undefined) {
      const log = (level: string) => (fields: object, msg: string): void => {
        const extra = Object.entries(fields)
          .filter(([k]) => k !== 'component' && k !== 'nodeId')
          .map(([k, v]) => `${k}=${traceValue(v)}`)
          .join(' ')
        trace(nodeId, `${level === 'info' ? '' : `${level}: `}${msg}${extra === '' ? '' : ` ${extra}`}`)
      }
      logger = { debug: () => {}, info: log('info'), warn: log('warn'), error: log('error') }
      this.loggers.set(nodeId, logger)
    }
    return logger
  }
}

/** A log field for the trace; never throws (bigints and bytes are not JSON). */
function traceValue(v: unknown): string {
  const text = JSON.stringify(v, (_key, x: unknown) => {
    if (typeof x === 'bigint') return x.toString()
    if (x instanceof Uint8Array) return `<${x.length} bytes>`
    return x
  })
  return text === undefined ? String(v) : text
}

export function describeMessage(m: RaftMessage): string {
  return `n${m.from}->n${m.to} #${m.requestId} ${describeBody(m.body)}`
}

export function describeBody(b: RaftBody): string {
  switch (b.type) {
    case 'vote_request':
      return `${b.preVote ? 'PreVote' : 'Vote'}Request(epoch ${b.candidateEpoch}, last ${b.lastEndOffset}@${b.lastEpoch})`
    case 'vote_response':
      return `${b.preVote ? 'PreVote' : 'Vote'}Response(epoch ${b.epoch}, ${b.voteGranted ? 'granted' : 'refused'}${err(b.errorCode)})`
    case 'begin_quorum_epoch_request':
      return `BeginQuorumEpochRequest(epoch ${b.leaderEpoch})`
    case 'begin_quorum_epoch_response':
      return `BeginQuorumEpochResponse(epoch ${b.epoch}${err(b.errorCode)})`
    case 'end_quorum_epoch_request':
      return `EndQuorumEpochRequest(epoch ${b.leaderEpoch}, successors [${b.preferredSuccessors.join(',')}])`
    case 'end_quorum_epoch_response':
      return `EndQuorumEpochResponse(epoch ${b.epoch}${err(b.errorCode)})`
    case 'fetch_request':
      return `FetchRequest(epoch ${b.replicaEpoch}, offset ${b.fetchOffset}, last epoch ${b.lastFetchedEpoch})`
    case 'fetch_response': {
      const parts = [`epoch ${b.epoch}`, `hw ${b.highWatermark}`]
      if (b.entries.length > 0) parts.push(`entries ${b.entries[0].offset}..${b.entries[b.entries.length - 1].offset}`)
      if (b.divergingEpoch !== null) parts.push(`diverging ${b.divergingEpoch.endOffset}@${b.divergingEpoch.epoch}`)
      if (b.snapshotId !== null) parts.push(`snapshot ${b.snapshotId.endOffset}@${b.snapshotId.epoch}`)
      return `FetchResponse(${parts.join(', ')}${err(b.errorCode)})`
    }
    case 'fetch_snapshot_request':
      return `FetchSnapshotRequest(epoch ${b.replicaEpoch}, ${b.snapshotId.endOffset}@${b.snapshotId.epoch} at ${b.position})`
    case 'fetch_snapshot_response':
      return `FetchSnapshotResponse(epoch ${b.epoch}, ${b.snapshotId.endOffset}@${b.snapshotId.epoch} ` +
        `${b.position}+${b.chunk.length}/${b.size}${err(b.errorCode)})`
  }
}

function err(code: number): string {
  return code === 0 ? '' : `, error ${code}`
}
