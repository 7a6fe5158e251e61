/**
 * The seam between the driver loop and the network. GrpcTransport implements it over gRPC;
 * tests and the simulator can swap in an in-memory one.
 *
 * Contract: requests and responses are one-way messages matched by (peer, requestId), as in
 * raft/types.ts. `send` never throws for network reasons and never blocks; delivery is
 * best effort (Raft tolerates loss). Handlers are called from the event loop, never
 * re-entrantly from inside `send`.
 */
import type { NodeId } from '@tributary/protocol'
import type { RaftMessage } from '../raft/types.js'

export interface TransportHandler {
  /** A request from a peer, or the response to one of our requests. */
  onMessage(message: RaftMessage): void
  /** A request to `peer` failed at the transport level (unreachable, deadline, refused). */
  onUnreachable(peer: NodeId, reason: string): void
}

export interface Transport {
  setHandler(handler: TransportHandler): void
  send(message: RaftMessage): void
  close(): Promise<void>
}
