/**
 * A broker-only node's view of the metadata log: a Raft OBSERVER (KIP-595; a node id that is
 * not among the voters). It fetches the log from the leader with the same Fetch RPC the
 * voters use, keeps its own copy under <logDir>/__cluster_metadata-0 (FsRaftStore; snapshots
 * bound it as on a controller), and replays it into the committed MetadataImage that the
 * broker acts on. It never votes and serves nothing, so it needs no Raft server: it only
 * sends requests (GrpcTransport with every voter as a peer).
 *
 * The caller owns the log dir and its lock (the broker node takes it for its partition logs).
 * Stop order (close): the driver stops and closes the transport and the store.
 */
import type { MetadataImage } from '../image/metadata-image.js'
import { assert } from '../util/assert.js'
import { MetadataRaft, type MetadataRaftConfig } from './metadata-raft.js'
import type { RaftDriver, StateChange } from './raft-driver.js'

/**
 * The member's config (nodeId: this broker's node.id, which must not be a voter; controller:
 * the snapshot policy of the observer's own copy, metadata.log.* keys) and its callbacks.
 */
export interface MetadataObserverConfig extends MetadataRaftConfig {
  readonly onCommittedImage: (image: MetadataImage) => void
  readonly onStateChange?: (change: StateChange) => void
  readonly onFatal?: (err: unknown) => void
}

export interface MetadataObserver {
  readonly driver: RaftDriver
  /** Stops fetching; closes the transport and the store. Idempotent. */
  close(): Promise<void>
}

export async function startMetadataObserver(config: MetadataObserverConfig): Promise<MetadataObserver> {
  const { nodeId } = config
  assert(!config.voters.some((v) => v.id === nodeId), `node ${nodeId} is a voter: it runs a controller, not an observer`)
  const member = new MetadataRaft(config)
  try {
    const driver = await member.startDriver('metadata-observer', config)
    let closing: Promise<void> | null = null
    return {
      driver,
      close: () => {
        closing ??= driver.close()
        return closing
      },
    }
  } catch (err) {
    await member.transport.close()
    throw err
  }
}
