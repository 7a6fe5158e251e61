/**
 * The BrokerSession streams one controller node holds open, per broker id: bounded per broker
 * (MAX_BROKER_SESSION_STREAMS_PER_BROKER; the total is bounded by the handler's InflightLimit),
 * and ended all at once when the node closes (a session stream never ends on its own, and a
 * server waits for open calls before it shuts down).
 */
import type { NodeId } from '@tributary/protocol'
import { MAX_BROKER_SESSION_STREAMS_PER_BROKER } from '../transport/transport-limits.js'

interface Endable {
  end(): void
}

export class BrokerSessionRegistry {
  private readonly open = new Map<NodeId, Set<Endable>>()

  /** Records an open stream; false (and nothing recorded) when the broker has too many. */
  tryOpen(brokerId: NodeId, stream: Endable): boolean {
    let streams = this.open.get(brokerId)
    if (streams === undefined) {
      streams = new Set()
      this.open.set(brokerId, streams)
    }
    if (streams.size >= MAX_BROKER_SESSION_STREAMS_PER_BROKER) return false
    streams.add(stream)
    return true
  }

  closed(brokerId: NodeId, stream: Endable): void {
    const streams = this.open.get(brokerId)
    if (streams === undefined) return
    streams.delete(stream)
    if (streams.size === 0) this.open.delete(brokerId)
  }

  /** Streams open for the broker. */
  count(brokerId: NodeId): number {
    return this.open.get(brokerId)?.size ?? 0
  }

  endAll(): void {
    const all = [...this.open.values()].flatMap((s) => [...s])
    for (const stream of all) stream.end()
  }
}
