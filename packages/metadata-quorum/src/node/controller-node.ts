/**
 * A controller node process: one voter of the metadata quorum (process.roles=controller).
 *
 * It owns, for its lifetime: the metadata log store under <log dir>/__cluster_metadata-0,
 * one gRPC server on the controller listener serving RaftService (the Raft RPCs through
 * GrpcTransport, plus DescribeQuorum) and ControllerService (commands through the driver,
 * DescribeMetadata from the committed image), the transport's channels to the other voters,
 * and the RaftDriver loop.
 *
 * Start order: bind the listener first (a port in use fails fast, before any disk work), then
 * take the exclusive lock on the log dir (DirLock, Kafka's `.lock`: two processes on one log
 * corrupt it), then recover the store and start the loop; calls that arrive in between get
 * UNAVAILABLE. Stop order (close): the driver resigns and drains, closes the transport and
 * the store, the server stops, and the lock is released last.
 *
 * ControllerService input is bounded before it reaches the controller: request bytes and
 * calls in flight (transport-limits.ts, RESOURCE_EXHAUSTED), and free-text fields
 * (CONTROLLER_REQUEST_LIMITS, answered INVALID_REQUEST in the command's own response shape).
 */
import { mkdir } from 'node:fs/promises'
import * as grpc from '@grpc/grpc-js'
import type { Logger as PinoLogger } from 'pino'
import { controller, ErrorCode, quorum, type NodeId } from '@tributary/protocol'
import type { ControllerCommand, ControllerConfig, ControllerResponse } from '../controller/types.js'
import type { RaftConfig } from '../raft/types.js'
import { DirLock } from '../store/dir-lock.js'
import { ControllerClient } from '../transport/controller-client.js'
import {
  CallStatusError,
  errorMessage,
  InflightLimit,
  rawServerStreamHandler,
  rawServiceDefinition,
  rawUnaryHandler,
  type RawHandlerLimits,
  type RawStreamWriter,
} from '../transport/raw-service.js'
import {
  MAX_BROKER_SESSION_STREAMS,
  MAX_CONTROLLER_CALLS_IN_FLIGHT,
  MAX_CONTROLLER_REQUEST_BYTES,
  REPEATED_WARNING_INTERVAL_MS,
  SERVER_OPTIONS,
} from '../transport/transport-limits.js'
import { assert } from '../util/assert.js'
import { errorResponse } from '../controller/controller-responses.js'
import { describeMetadataFromImage, describeQuorumFromStatus } from './controller-views.js'
import { bindAddress, bindServer, shutdownServer } from './grpc-server.js'
import { MetadataRaft } from './metadata-raft.js'
import type { RaftDriver, StateChange } from './raft-driver.js'
import type { MetadataImage } from '../image/metadata-image.js'
import { BrokerSessionRegistry } from './broker-session-registry.js'

export interface VoterAddress {
  readonly id: NodeId
  readonly host: string
  readonly port: number
}

export type RaftTiming = Omit<RaftConfig, 'nodeId' | 'voters'>

export interface ControllerNodeConfig {
  readonly nodeId: NodeId
  /** controller.quorum.voters; must include nodeId. */
  readonly voters: readonly VoterAddress[]
  /** The controller listener to bind; an empty host binds every interface. Port 0 picks one. */
  readonly listener: { readonly host: string; readonly port: number }
  /** The first of log.dirs: the metadata log lives in <logDir>/__cluster_metadata-0. */
  readonly logDir: string
  /** meta.properties' cluster.id, reported in DescribeQuorum (kafka-metadata-quorum's ClusterId); '' when unknown. */
  readonly clusterId?: string
  readonly raftTiming?: Partial<RaftTiming>
  readonly controller?: Partial<ControllerConfig>
  readonly logger: PinoLogger
  /** Role or leader changes, with a short human sentence for the console. */
  readonly onStateChange?: (change: StateChange) => void
  /** The driver stopped for good (disk failure, broken invariant): exit and restart. */
  readonly onFatal?: (err: unknown) => void
  /** The committed metadata image changed (combined mode: the local broker's metadata). See RaftDriverOptions. */
  readonly onCommittedImage?: (image: MetadataImage) => void
  /**
   * The lock on logDir, when the caller already holds it (combined mode: the broker and the
   * controller share one log dir and one lock). The node then neither takes nor releases it.
   */
  readonly dirLock?: DirLock
}

export interface ControllerNode {
  readonly nodeId: NodeId
  /** The bound port (useful with port 0). */
  readonly port: number
  readonly driver: RaftDriver
  /** BrokerSession streams of `brokerId` open on this node right now. */
  sessionStreams(brokerId: NodeId): number
  /** Clean shutdown: resign, drain, stop. Idempotent. */
  close(): Promise<void>
}

/** Bounds on free-text fields of ControllerService requests; beyond them: INVALID_REQUEST. */
export const CONTROLLER_REQUEST_LIMITS = {
  /** rack, host, listener name, incarnation id. */
  maxTextChars: 255,
  maxEndpoints: 16,
  /** One topic config key or value. */
  maxConfigChars: 32 * 1024,
} as const

/** Metadata key a forwarded DescribeQuorum carries, so a call is forwarded at most once. */
const FORWARDED_KEY = 'x-trib-forwarded'

const RAW_CONTROLLER_SERVICE = rawServiceDefinition(controller.ControllerServiceService)

export async function startControllerNode(config: ControllerNodeConfig): Promise<ControllerNode> {
  const { nodeId } = config
  assert(config.voters.some((v) => v.id === nodeId), `node ${nodeId} must be one of the voters`)
  const logger = config.logger.child({ component: 'controller-node', nodeId })
  const member = new MetadataRaft(config)
  const { raftConfig, transport } = member

  let driver: RaftDriver | null = null
  const running = (): RaftDriver => {
    if (driver === null || !driver.isRunning) throw new CallStatusError(grpc.status.UNAVAILABLE, 'the controller is starting or stopping')
    return driver
  }

  // DescribeQuorum: the leader answers; a follower forwards once to the leader it knows, and
  // answers from its own status if the leader does not answer within requestTimeoutMs: a
  // leader that has not answered by then is the one Raft itself is about to give up on, and
  // a tool polling the quorum during a failover must not hang on it.
  const forwardClients = new Map<NodeId, ControllerClient>()
  const describeQuorum = async (_req: quorum.DescribeQuorumRequest, call: grpc.ServerUnaryCall<Buffer, Buffer>): Promise<quorum.DescribeQuorumResponse> => {
    const status = running().status()
    const local = describeQuorumFromStatus(status, config.clusterId ?? '')
    const leader = config.voters.find((v) => v.id === status.leaderId)
    if (status.role === 'leader' || leader === undefined || call.metadata.get(FORWARDED_KEY).length > 0) return local
    let client = forwardClients.get(leader.id)
    if (client === undefined) {
      client = new ControllerClient(bindAddress(leader.host, leader.port), { timeoutMs: raftConfig.requestTimeoutMs })
      forwardClients.set(leader.id, client)
    }
    const metadata = new grpc.Metadata()
    metadata.set(FORWARDED_KEY, String(nodeId))
    try {
      return await client.describeQuorum(metadata)
    } catch (err) {
      logger.debug({ leaderId: leader.id, err: errorMessage(err) }, 'could not forward DescribeQuorum to the leader')
      return local
    }
  }

  const sessions = new BrokerSessionRegistry()
  const server = new grpc.Server(SERVER_OPTIONS)
  transport.bindTo(server, describeQuorum)
  server.addService(RAW_CONTROLLER_SERVICE, controllerServiceImpl(logger, running, sessions))

  const port = await bindServer(server, config.listener.host, config.listener.port)
  logger.info({ host: config.listener.host, port }, 'listening')

  const sharedLock = config.dirLock
  let lock: DirLock
  try {
    await mkdir(config.logDir, { recursive: true })
    lock = sharedLock ?? (await DirLock.acquire(config.logDir))
  } catch (err) {
    server.forceShutdown()
    throw err
  }
  const releaseLock = async (): Promise<void> => {
    if (sharedLock === undefined) await lock.release()
  }

  try {
    const started = await member.startDriver('quorum-controller', config)
    driver = started
    let closing: Promise<void> | null = null
    return {
      nodeId,
      port,
      driver: started,
      sessionStreams: (brokerId) => sessions.count(brokerId),
      close: () => {
        closing ??= (async () => {
          await started.close()
          for (const client of forwardClients.values()) client.close()
          // Session streams never end on their own: end them, or the server waits for them.
          sessions.endAll()
          await shutdownServer(server, 1000)
          await releaseLock()
          logger.info({}, 'controller node stopped')
        })()
        return closing
      },
    }
  } catch (err) {
    await transport.close()
    server.forceShutdown()
    await releaseLock()
    throw err
  }
}

/** Why a command's free text exceeds CONTROLLER_REQUEST_LIMITS, or null. */
export function oversizedField(command: ControllerCommand): string | null {
  const { maxTextChars, maxEndpoints, maxConfigChars } = CONTROLLER_REQUEST_LIMITS
  const text = (what: string, value: string, max: number = maxTextChars): string | null =>
    value.length > max ? `${what} has ${value.length} characters; the limit is ${max}` : null
  switch (command.type) {
    case 'register_broker': {
      const r = command.request
      if (r.endpoints.length > maxEndpoints) return `${r.endpoints.length} endpoints; the limit is ${maxEndpoints}`
      for (const e of r.endpoints) {
        const problem = text('an endpoint host', e.host) ?? text('an endpoint name', e.name)
        if (problem !== null) return problem
      }
      return text('rack', r.rack) ?? text('incarnation id', r.incarnationId)
    }
    case 'create_topics':
      for (const t of command.request.topics) {
        for (const [key, value] of Object.entries(t.configs)) {
          const problem = text('a config key', key, maxConfigChars) ?? text(`config ${key.slice(0, 64)}`, value, maxConfigChars)
          if (problem !== null) return problem
        }
      }
      return null
    case 'alter_configs':
      for (const r of command.request.resources) {
        for (const op of r.ops) {
          const problem = text('a config key', op.name, maxConfigChars) ?? text(`config ${op.name.slice(0, 64)}`, op.value, maxConfigChars)
          if (problem !== null) return problem
        }
      }
      return null
    default:
      return null
  }
}

function controllerServiceImpl(logger: PinoLogger, running: () => RaftDriver, sessions: BrokerSessionRegistry): grpc.UntypedServiceImplementation {
  const submit = async (command: ControllerCommand): Promise<ControllerResponse> => {
    const problem = oversizedField(command)
    if (problem !== null) return errorResponse(command, ErrorCode.INVALID_REQUEST.code, `invalid request: ${problem}`, running().status().leaderId)
    return running().submit(command)
  }
  const limits: RawHandlerLimits = {
    maxRequestBytes: MAX_CONTROLLER_REQUEST_BYTES,
    inflight: new InflightLimit(MAX_CONTROLLER_CALLS_IN_FLIGHT, REPEATED_WARNING_INTERVAL_MS),
  }
  const mismatch = (command: string, response: ControllerResponse): string => `a ${command} command got a ${response.type} response`
  const c = controller
  return {
    registerBroker: rawUnaryHandler(c.RegisterBrokerRequest, c.RegisterBrokerResponse, logger, 'RegisterBroker', async (request) => {
      const r = await submit({ type: 'register_broker', request })
      assert(r.type === 'register_broker', mismatch('register_broker', r))
      return r.response
    }, limits),
    brokerHeartbeat: rawUnaryHandler(c.BrokerHeartbeatRequest, c.BrokerHeartbeatResponse, logger, 'BrokerHeartbeat', async (request) => {
      const r = await submit({ type: 'broker_heartbeat', request })
      assert(r.type === 'broker_heartbeat', mismatch('broker_heartbeat', r))
      return r.response
    }, limits),
    createTopics: rawUnaryHandler(c.CreateTopicsRequest, c.CreateTopicsResponse, logger, 'CreateTopics', async (request) => {
      const r = await submit({ type: 'create_topics', request })
      assert(r.type === 'create_topics', mismatch('create_topics', r))
      return r.response
    }, limits),
    deleteTopics: rawUnaryHandler(c.DeleteTopicsRequest, c.DeleteTopicsResponse, logger, 'DeleteTopics', async (request) => {
      const r = await submit({ type: 'delete_topics', request })
      assert(r.type === 'delete_topics', mismatch('delete_topics', r))
      return r.response
    }, limits),
    createPartitions: rawUnaryHandler(c.CreatePartitionsRequest, c.CreatePartitionsResponse, logger, 'CreatePartitions', async (request) => {
      const r = await submit({ type: 'create_partitions', request })
      assert(r.type === 'create_partitions', mismatch('create_partitions', r))
      return r.response
    }, limits),
    alterPartition: rawUnaryHandler(c.AlterPartitionRequest, c.AlterPartitionResponse, logger, 'AlterPartition', async (request) => {
      const r = await submit({ type: 'alter_partition', request })
      assert(r.type === 'alter_partition', mismatch('alter_partition', r))
      return r.response
    }, limits),
    electLeaders: rawUnaryHandler(c.ElectLeadersRequest, c.ElectLeadersResponse, logger, 'ElectLeaders', async (request) => {
      const r = await submit({ type: 'elect_leaders', request })
      assert(r.type === 'elect_leaders', mismatch('elect_leaders', r))
      return r.response
    }, limits),
    allocateProducerIds: rawUnaryHandler(c.AllocateProducerIdsRequest, c.AllocateProducerIdsResponse, logger, 'AllocateProducerIds', async (request) => {
      const r = await submit({ type: 'allocate_producer_ids', request })
      assert(r.type === 'allocate_producer_ids', mismatch('allocate_producer_ids', r))
      return r.response
    }, limits),
    alterConfigs: rawUnaryHandler(c.AlterConfigsRequest, c.AlterConfigsResponse, logger, 'AlterConfigs', async (request) => {
      const r = await submit({ type: 'alter_configs', request })
      assert(r.type === 'alter_configs', mismatch('alter_configs', r))
      return r.response
    }, limits),
    describeMetadata: rawUnaryHandler(c.DescribeMetadataRequest, c.DescribeMetadataResponse, logger, 'DescribeMetadata', (request) => {
      const driver = running()
      return describeMetadataFromImage(driver.image(), request, driver.status().leaderId ?? -1)
    }, limits),
    brokerSession: rawServerStreamHandler(c.BrokerSessionRequest, c.BrokerSessionEvent, logger, 'BrokerSession', (request, stream) => {
      brokerSession(running(), sessions, logger, request, stream)
    }, {
      maxRequestBytes: MAX_CONTROLLER_REQUEST_BYTES,
      inflight: new InflightLimit(MAX_BROKER_SESSION_STREAMS, REPEATED_WARNING_INTERVAL_MS),
    }),
  }
}

/**
 * BrokerSession (issue 3 §5): a broker keeps one stream open to every controller; this node
 * tells its controller when a stream of a registered broker opens and when it ends. The
 * stream carries nothing: a broker whose epoch the committed image does not know as current
 * or newer is answered with one error event and the stream ends (the broker reconnects once
 * it re-registered, or once this node has replayed its registration).
 */
function brokerSession(
  driver: RaftDriver,
  sessions: BrokerSessionRegistry,
  logger: PinoLogger,
  request: controller.BrokerSessionRequest,
  stream: RawStreamWriter<controller.BrokerSessionEvent>,
): void {
  const refuse = (code: number, message: string): void => {
    stream.write({ errorCode: code, errorMessage: message })
    stream.end()
  }
  const registration = driver.image().brokers.get(request.brokerId as NodeId)
  if (registration === undefined) return refuse(ErrorCode.BROKER_ID_NOT_REGISTERED.code, `No broker registration found for broker ${request.brokerId}`)
  if (request.brokerEpoch < registration.brokerEpoch) {
    return refuse(ErrorCode.STALE_BROKER_EPOCH.code, `Expected broker epoch ${registration.brokerEpoch}, but got broker epoch ${request.brokerEpoch}`)
  }
  const brokerId = registration.brokerId
  const brokerEpoch = request.brokerEpoch
  if (!sessions.tryOpen(brokerId, stream)) {
    return refuse(ErrorCode.POLICY_VIOLATION.code, `too many session streams of broker ${brokerId}`)
  }
  driver.brokerSessionOpened(brokerId, brokerEpoch)
  logger.debug({ brokerId, brokerEpoch: brokerEpoch.toString() }, 'broker session stream opened')
  stream.signal.addEventListener('abort', () => {
    sessions.closed(brokerId, stream)
    driver.brokerSessionClosed(brokerId, brokerEpoch)
    logger.info({ brokerId, brokerEpoch: brokerEpoch.toString() }, 'broker session stream closed')
  }, { once: true })
}
