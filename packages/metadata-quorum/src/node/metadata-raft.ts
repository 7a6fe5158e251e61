/**
 * MetadataRaft: a real node's member of the metadata log's Raft quorum: a QuorumController
 * over an FsRaftStore in <logDir>/__cluster_metadata-0, reaching the other voters through a
 * GrpcTransport. The controller node (a voter) and a broker's metadata observer (KIP-595: a
 * node id that is not among the voters, otherwise the same Fetch-driven member) are both
 * built on it, so the two cannot drift in how they configure Raft or open the log.
 *
 * Two steps: the constructor makes the configs and the transport (a voter binds its server
 * on the transport before anything fetches); startDriver opens the store and starts the
 * RaftDriver, which from then on owns and closes the transport and the store. If startDriver
 * throws, the caller still owns the transport and closes it.
 */
import type { Logger as PinoLogger } from 'pino'
import type { NodeId } from '@tributary/protocol'
import { QuorumController } from '../controller/quorum-controller.js'
import { DEFAULT_CONTROLLER_CONFIG, type ControllerConfig } from '../controller/types.js'
import type { MetadataImage } from '../image/metadata-image.js'
import { DEFAULT_RAFT_TIMING, type RaftConfig } from '../raft/types.js'
import { FsRaftStore, metadataLogDir } from '../store/fs-raft-store.js'
import { GrpcTransport } from '../transport/grpc-transport.js'
import { systemRandom } from '../util/random.js'
import type { RaftTiming, VoterAddress } from './controller-node.js'
import { bindAddress } from './grpc-server.js'
import { RaftDriver, type StateChange } from './raft-driver.js'

export interface MetadataRaftConfig {
  readonly nodeId: NodeId
  /** controller.quorum.voters (a voter's own entry is not a peer). */
  readonly voters: readonly VoterAddress[]
  /** The first of log.dirs; the caller holds its lock. */
  readonly logDir: string
  readonly raftTiming?: Partial<RaftTiming>
  readonly controller?: Partial<ControllerConfig>
  readonly logger: PinoLogger
}

/** The RaftDriver's callbacks (see RaftDriverOptions); absent ones keep the driver's defaults. */
export interface MetadataRaftHooks {
  readonly onCommittedImage?: ((image: MetadataImage) => void) | undefined
  readonly onStateChange?: ((change: StateChange) => void) | undefined
  readonly onFatal?: ((err: unknown) => void) | undefined
}

export class MetadataRaft {
  readonly raftConfig: RaftConfig
  readonly controllerConfig: ControllerConfig
  readonly transport: GrpcTransport

  constructor(private readonly config: MetadataRaftConfig) {
    const { nodeId } = config
    this.raftConfig = {
      nodeId,
      voters: config.voters.map((v) => v.id),
      ...DEFAULT_RAFT_TIMING,
      ...config.raftTiming,
    }
    this.controllerConfig = { ...DEFAULT_CONTROLLER_CONFIG, ...config.controller }
    const peers = new Map<NodeId, string>()
    for (const v of config.voters) if (v.id !== nodeId) peers.set(v.id, bindAddress(v.host, v.port))
    this.transport = new GrpcTransport({
      nodeId,
      peers,
      requestTimeoutMs: this.raftConfig.requestTimeoutMs,
      logger: config.logger.child({ component: 'grpc-transport', nodeId }),
    })
  }

  /** Opens the metadata log and starts the driver; the controller logs as `controllerComponent`. */
  async startDriver(controllerComponent: string, hooks: MetadataRaftHooks): Promise<RaftDriver> {
    const { nodeId, logger } = this.config
    const store = new FsRaftStore({ dir: metadataLogDir(this.config.logDir), logger: logger.child({ component: 'fs-raft-store', nodeId }) })
    return RaftDriver.start({
      store,
      transport: this.transport,
      logger,
      createController: (persisted, nowMs) =>
        new QuorumController({
          raft: this.raftConfig,
          controller: this.controllerConfig,
          persisted,
          random: systemRandom,
          logger: logger.child({ component: controllerComponent, nodeId }),
          nowMs,
        }),
      ...(hooks.onStateChange === undefined ? {} : { onStateChange: hooks.onStateChange }),
      ...(hooks.onFatal === undefined ? {} : { onFatal: hooks.onFatal }),
      ...(hooks.onCommittedImage === undefined ? {} : { onCommittedImage: hooks.onCommittedImage }),
    })
  }
}
