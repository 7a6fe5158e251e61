export * from './raft/types.js'
export * from './util/assert.js'
export * from './util/random.js'
export * from './util/logger.js'
export * from './store/raft-store.js'
export * from './store/fs-raft-store.js'
export * from './store/mem-raft-store.js'
export { GrpcTransport, type GrpcTransportOptions, type DescribeQuorumHandler } from './transport/grpc-transport.js'
export type { Transport, TransportHandler } from './transport/transport.js'
export { ControllerClient, isServiceError, DEFAULT_ADMIN_CALL_TIMEOUT_MS, type ControllerClientOptions } from './transport/controller-client.js'
export * as transportLimits from './transport/transport-limits.js'
export { RaftDriver, monotonicEpochClock, describeState, type DrivenController, type RaftDriverOptions, type StateChange } from './node/raft-driver.js'
export { startControllerNode, type ControllerNode, type ControllerNodeConfig, type VoterAddress, type RaftTiming } from './node/controller-node.js'
export { describeQuorumFromStatus, describeMetadataFromImage } from './node/controller-views.js'
export * as nodeLimits from './node/node-limits.js'
export { routeGrpcLogs } from './transport/grpc-logging.js'
export * from './raft/raft-core.js'
export * from './image/metadata-image.js'
export * from './image/metadata-record-codec.js'
export * from './image/image-snapshot.js'
export * from './controller/types.js'
export * from './controller/controller-state-machine.js'
export * from './controller/quorum-controller.js'
export { DirLock, DirLockError, DIR_LOCK_FILE } from './store/dir-lock.js'
export * from './image/local-changes.js'
export { startMetadataObserver, type MetadataObserver, type MetadataObserverConfig } from './node/metadata-observer.js'
export { bindAddress, bindServer, shutdownServer, PortInUseError } from './node/grpc-server.js'
export {
  CallStatusError,
  InflightLimit,
  errorMessage,
  rawServiceDefinition,
  rawUnaryHandler,
  rawServerStreamHandler,
  rawBidiStreamHandler,
  type MessageCodec,
  type RawHandlerLimits,
  type RawBidiLimits,
  type RawStreamWriter,
} from './transport/raw-service.js'
export type { BrokerSessionHint } from './controller/controller-state-machine.js'
export * from './sim/sim-kit.js'
export { TOPIC_CONFIG_KEYS, isKnownTopicConfig, topicConfigValueError } from './controller/topic-config-validation.js'
