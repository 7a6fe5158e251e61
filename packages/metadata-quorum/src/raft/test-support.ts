/**
 * Test support for single-core tests: one RaftCore, messages injected by hand, the test
 * acting as the disk (each Ready is taken and advanced at once).
 */
import type { NodeId } from '@tributary/protocol'
import { RaftCore } from './raft-core.js'
import { DEFAULT_RAFT_TIMING, type PersistentState, type RaftBody, type RaftEntry, type Ready } from './types.js'
import { SeededRandom } from '../util/random.js'
import { silentLogger, type Logger } from '../util/logger.js'

/** Data entries with the given epochs, starting at offset `from`. */
export function entries(epochs: readonly number[], from = 0): RaftEntry[] {
  return epochs.map((epoch, i) => ({ epoch, offset: from + i, kind: 'data', data: new Uint8Array([i]) }))
}

export function testCore(id: NodeId, persisted: PersistentState, voters: readonly NodeId[], logger: Logger = silentLogger): RaftCore {
  return new RaftCore({ ...DEFAULT_RAFT_TIMING, nodeId: id, voters }, persisted, new SeededRandom(id), logger, 0)
}

/** Takes and advances one Ready (the test is the disk). */
export function step(c: RaftCore, nowMs = 0): Ready {
  const r = c.ready()
  c.advance(r, nowMs)
  return r
}

export function deliver(c: RaftCore, from: NodeId, requestId: number, body: RaftBody, nowMs = 0): Ready {
  c.receive({ from, to: c.nodeId, requestId, body }, nowMs)
  return step(c, nowMs)
}
