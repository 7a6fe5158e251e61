/**
 * startNode: one Tributary node process, in any of its roles (Kafka's KafkaRaftServer with
 * BrokerServer and ControllerServer): `controller`, `broker`, or both (combined mode).
 *
 * It owns, for its lifetime: the broker listeners (BrokerService on each), the lock on the log dir
 * and its meta.properties, the replica manager, the metadata source (combined: the local
 * controller's committed image; broker-only: a Raft observer of the quorum), the broker's
 * lifecycle (registration, heartbeats, controlled shutdown) and its BrokerSession streams,
 * and in combined or controller mode the controller node.
 *
 * Start order: bind the broker listeners (a port in use fails fast, before any disk work;
 * calls get UNAVAILABLE until the node is up), lock the log dir (the controller shares that
 * lock in combined mode), check or write meta.properties, create the replica manager, start
 * the metadata source (the controller, or the observer), then register. The replica manager
 * gets its first image only once the broker has registered and the image holds that
 * registration (metadata-applier.ts).
 *
 * Stop order (close): controlled shutdown (the controller moves our leaderships away and
 * fences us first, so producers see no errors; the broker then keeps answering a moment so
 * clients learn the new leaders from answers), stop heartbeats and session streams, stop
 * the broker listener from taking calls, close the replica manager (it answers waiting calls
 * and flushes its logs), then the controller or observer, and release the lock last.
 *
 * A storage failure of the replica manager, a failed metadata apply or a stopped Raft loop
 * is fatal: onFatal (the CLI exits non-zero; a restart recovers from disk).
 *
 * Listeners (Kafka's named listeners, KIP-103): `broker.listener` is the inter-broker
 * listener (inter.broker.listener.name); `broker.additionalListeners` are the others (e.g.
 * INTERNAL for the compose network, EXTERNAL for the host). Each gets its own gRPC server
 * serving the same BrokerService, which knows the listener's name: Metadata and
 * FindCoordinator answer with the endpoints of the listener the request came in on. The
 * broker registers every advertised endpoint; replica fetchers reach leaders on the
 * inter-broker listener's endpoints.
 */
import { randomUUID } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import * as grpc from '@grpc/grpc-js'
import type { Logger as PinoLogger } from 'pino'
import {
  bindServer,
  CallStatusError,
  DirLock,
  errorMessage,
  shutdownServer,
  startControllerNode,
  startMetadataObserver,
  type ControllerClient,
  type ControllerConfig,
  type ControllerNode,
  type MetadataImage,
  type MetadataObserver,
  type RaftDriver,
  type RaftTiming,
  type StateChange,
  type VoterAddress,
} from '@tributary/metadata-quorum'
import { ErrorCode, type broker, type metadata, type NodeId } from '@tributary/protocol'
import { REPLICA_MANAGER_DEFAULTS, ReplicaManager } from '../replica-manager/replica-manager.js'
import type { ControllerChannel, LeaderChannels, ReplicaManagerConfig, ReplicaService } from '../replica-manager/types.js'
import { brokerServiceImpl, RAW_BROKER_SERVICE, type AdminForwarder } from '../server/broker-service.js'
import { DEFAULT_OFFSETS_TOPIC_PARTITIONS, GroupCoordinator, type GroupRequests } from '../group/group-coordinator.js'
import { DEFAULT_CONSUMER_GROUP_CONFIG } from '../group/consumer-group.js'
import type { CleanupPolicyDefault, TopicDefaults } from '../partition/topic-config.js'
import { ProducerIdManager } from '../producer-ids/producer-id-manager.js'
import { BROKER_SERVER_OPTIONS } from '../server/server-limits.js'
import { BrokerLifecycle } from './broker-lifecycle.js'
import { BrokerSessions } from './broker-sessions.js'
import { applyBrokerV8Flags } from './v8-tuning.js'
import { ControllerRouter, type ControllerAnswer } from './controller-router.js'
import { GrpcLeaderChannels } from './grpc-leader-channels.js'
import { clusterEvents, localLeadershipEvent } from './image-events.js'
import { ensureMetaProperties } from './meta-properties.js'
import { MetadataApplier } from './metadata-applier.js'
import {
  ADMIN_FORWARD_TIMEOUT_MS,
  CONTROLLED_SHUTDOWN_APPLY_WAIT_MS,
  CONTROLLED_SHUTDOWN_LINGER_MS,
  CONTROLLED_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_BROKER_HEARTBEAT_INTERVAL_MS,
  SERVER_SHUTDOWN_GRACE_MS,
} from './node-limits.js'
import { RoutedControllerChannel } from './routed-controller-channel.js'

export type NodeRole = 'broker' | 'controller'

/** Replica manager settings other than the broker id and log dir, with Kafka's key names in ReplicaManagerConfig. */
export type ReplicaSettings = Omit<ReplicaManagerConfig, 'brokerId' | 'logDir'>

/** Kafka's defaults (the replica manager's), with fsync durability (DESIGN.md). */
export const DEFAULT_REPLICA_SETTINGS: ReplicaSettings = REPLICA_MANAGER_DEFAULTS

/** What the node hands the replica manager it creates. */
export interface ReplicaManagerDeps {
  readonly config: ReplicaManagerConfig
  readonly leaderChannels: LeaderChannels
  readonly controllerChannel: ControllerChannel
  readonly logger: PinoLogger
  /** A log could not be written or read: the node exits (a restart recovers). */
  readonly onStorageFailure: (err: unknown) => void
}

export type ReplicaManagerFactory = (deps: ReplicaManagerDeps) => ReplicaService | Promise<ReplicaService>

export interface BrokerListener {
  /** The listener's name (PLAINTEXT): the endpoint name registered and looked up by other brokers. */
  readonly name: string
  /** An empty host binds every interface. */
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
}

/** An advertised endpoint (advertised.listeners): what others connect to; the port defaults to the bound one. */
export interface AdvertisedEndpoint {
  readonly host: string
  readonly port?: number
}

/** A broker listener besides the inter-broker one (Kafka's EXTERNAL next to INTERNAL). */
export interface AdditionalBrokerListener extends BrokerListener {
  /** Defaults to the listener's host (localhost if empty) and the bound port. */
  readonly advertised?: AdvertisedEndpoint
}

export interface BrokerSettings {
  /** The inter-broker listener (inter.broker.listener.name): replica fetchers reach leaders on its endpoints. */
  readonly listener: BrokerListener
  /** advertised.listeners for the broker listener: what others connect to. Defaults to the listener's host (localhost if empty) and the bound port. */
  readonly advertised?: AdvertisedEndpoint
  /** The other broker listeners; names distinct from `listener`'s and each other's. */
  readonly additionalListeners?: readonly AdditionalBrokerListener[]
  readonly replica?: Partial<ReplicaSettings>
  /** broker.heartbeat.interval.ms */
  readonly heartbeatIntervalMs?: number
  readonly controlledShutdownTimeoutMs?: number
  readonly rack?: string
  /** offsets.topic.num.partitions: partitions of __consumer_offsets when the broker creates it (DEFAULT_OFFSETS_TOPIC_PARTITIONS). */
  readonly offsetsTopicPartitions?: number
  /** group.consumer.session.timeout.ms (DEFAULT_CONSUMER_GROUP_CONFIG's by default). */
  readonly groupSessionTimeoutMs?: number
  /** group.consumer.heartbeat.interval.ms (DEFAULT_CONSUMER_GROUP_CONFIG's by default). */
  readonly groupHeartbeatIntervalMs?: number
  /** Builds the replica manager (the node passes its channels); the ReplicaManager by default. Tests pass stubs. */
  readonly createReplicaManager?: ReplicaManagerFactory
}

/** The ReplicaManager, as the node builds it by default. */
export const createDefaultReplicaManager: ReplicaManagerFactory = (deps) => new ReplicaManager(deps)

export interface NodeConfig {
  readonly nodeId: NodeId
  readonly roles: readonly NodeRole[]
  /** controller.quorum.voters */
  readonly voters: readonly VoterAddress[]
  /** The first of log.dirs: partition logs, the metadata log, meta.properties. */
  readonly logDir: string
  /** cluster.id; absent: the stored one, or one derived from the voters on a first start. */
  readonly clusterId?: string
  /** Required with the controller role. Port 0 picks one. */
  readonly controllerListener?: { readonly host: string; readonly port: number }
  /** Required with the broker role. */
  readonly broker?: BrokerSettings
  readonly raftTiming?: Partial<RaftTiming>
  /** Controller settings (combined and controller roles), and the observer's snapshot policy. */
  readonly controller?: Partial<ControllerConfig>
  readonly logger: PinoLogger
  /** One short human line per event worth a console line (leaders, fencing, Raft roles). */
  readonly onEvent?: (line: string) => void
  /** The node cannot go on (storage failure, stopped Raft loop): exit non-zero. */
  readonly onFatal?: (err: unknown) => void
}

/** The broker part of a running node, for status lines and tests. */
export interface BrokerView {
  /** The bound port of the inter-broker listener. */
  readonly port: number
  /** The bound port of every broker listener, by name. */
  readonly ports: ReadonlyMap<string, number>
  readonly brokerEpoch: bigint
  readonly registered: boolean
  readonly fenced: boolean
  /** The metadata offset the replica manager has applied, -1 before the first. */
  readonly appliedOffset: number
  readonly sessionStreamsOpen: number
  readonly replicas: ReplicaService
  /** The image Metadata answers from. */
  image(): MetadataImage | null
  /** Resolves once the controller has unfenced this broker (the first time). */
  whenUnfenced(): Promise<void>
}

export interface TributaryNode {
  readonly nodeId: NodeId
  readonly roles: readonly NodeRole[]
  readonly clusterId: string
  readonly controller: ControllerNode | null
  readonly broker: BrokerView | null
  /** Clean shutdown in the order of the module header. Idempotent. */
  close(): Promise<void>
}

export async function startBrokerNode(config: Omit<NodeConfig, 'roles'>): Promise<TributaryNode> {
  return startNode({ ...config, roles: ['broker'] })
}

export async function startNode(config: NodeConfig): Promise<TributaryNode> {
  const { nodeId, roles } = config
  const isBroker = roles.includes('broker')
  const isController = roles.includes('controller')
  if (!isBroker && !isController) throw new Error('a node needs the broker role, the controller role, or both')
  if (isController && config.controllerListener === undefined) throw new Error('the controller role needs a controller listener')
  if (isBroker && config.broker === undefined) throw new Error('the broker role needs broker settings')
  if (isBroker) applyBrokerV8Flags()
  const logger = config.logger.child({ component: 'node', nodeId })
  const event = config.onEvent ?? (() => {})
  let fatalReported = false
  const fatal = (err: unknown): void => {
    if (fatalReported) return
    fatalReported = true
    logger.fatal({ err: errorMessage(err) }, 'the node cannot go on')
    config.onFatal?.(err)
  }

  const cleanups: (() => Promise<void> | void)[] = []
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.splice(0).reverse()) {
      try {
        await step()
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'a cleanup step failed')
      }
    }
  }

  try {
    // 1. The broker listener first: a port in use fails before any disk work.
    const brokerShell = isBroker ? await bindBrokerShell(config, logger) : null
    if (brokerShell !== null) cleanups.push(() => { for (const s of brokerShell.servers) s.server.forceShutdown() })

    // 2. The log dir and its lock (shared with the controller in combined mode).
    await mkdir(config.logDir, { recursive: true })
    const lock = await DirLock.acquire(config.logDir)
    cleanups.push(() => lock.release())

    // 3. meta.properties: the dir belongs to this node and cluster.
    const meta = await ensureMetaProperties(config.logDir, nodeId, config.clusterId ?? null, config.voters)

    // 4. The broker: replica manager and its channels, lifecycle, session streams.
    let driverOf: () => RaftDriver | null = () => null
    const broker = brokerShell === null ? null : await createBroker(config, brokerShell, meta.clusterId, () => driverOf(), logger, event, fatal)
    if (broker !== null) cleanups.push(() => broker.close())

    // 5. The metadata source: the local controller (its committed image feeds the broker) or an observer.
    let controllerNode: ControllerNode | null = null
    let observer: MetadataObserver | null = null
    let lastCommitted: MetadataImage | null = null
    const onCommittedImage = (image: MetadataImage): void => {
      broker?.applier.offer(image)
      // The active controller tells the console what changed in the cluster, once.
      const previous = lastCommitted
      lastCommitted = image
      if (previous !== null && controllerNode?.driver.isActiveController() === true) for (const line of clusterEvents(previous, image)) event(line)
    }
    const onStateChange = (change: StateChange): void => event(change.sentence)
    if (isController) {
      controllerNode = await startControllerNode({
        nodeId,
        voters: config.voters,
        listener: config.controllerListener!,
        logDir: config.logDir,
        clusterId: meta.clusterId,
        logger: config.logger,
        dirLock: lock,
        onCommittedImage,
        onStateChange,
        onFatal: fatal,
        ...(config.raftTiming === undefined ? {} : { raftTiming: config.raftTiming }),
        ...(config.controller === undefined ? {} : { controller: config.controller }),
      })
      const started = controllerNode
      cleanups.push(() => started.close())
      driverOf = () => started.driver
    } else {
      observer = await startMetadataObserver({
        nodeId,
        voters: config.voters,
        logDir: config.logDir,
        logger: config.logger,
        onCommittedImage,
        onFatal: fatal,
        ...(config.raftTiming === undefined ? {} : { raftTiming: config.raftTiming }),
        ...(config.controller === undefined ? {} : { controller: config.controller }),
      })
      const started = observer
      cleanups.push(() => started.close())
      driverOf = () => started.driver
    }

    // 6. Register and serve.
    broker?.start()
    logger.info({ roles, clusterId: meta.clusterId, brokerPort: brokerShell?.port ?? null, controllerPort: controllerNode?.port ?? null }, 'node started')

    let closing: Promise<void> | null = null
    return {
      nodeId,
      roles,
      clusterId: meta.clusterId,
      controller: controllerNode,
      broker: broker?.view ?? null,
      close: () => {
        closing ??= (async () => {
          // The broker first: controlled shutdown needs the controller, and the replica
          // manager must close before the metadata source. The cleanups then stop the
          // controller or observer and release the lock (the broker's close is idempotent).
          await broker?.close()
          await cleanup()
          logger.info({}, 'node stopped')
        })()
        return closing
      },
    }
  } catch (err) {
    await cleanup()
    throw err
  }
}

/**
 * Keeps serving for a moment after a controlled shutdown: first until the replica manager
 * has applied the image in which this broker is fenced (it then answers NOT_LEADER_OR_FOLLOWER
 * and Metadata names the new leaders), then CONTROLLED_SHUTDOWN_LINGER_MS more, so producers
 * still sending here are redirected by an answer rather than a refused connection.
 */
async function lingerAfterControlledShutdown(applier: MetadataApplier, brokerId: NodeId): Promise<void> {
  const deadline = Date.now() + CONTROLLED_SHUTDOWN_APPLY_WAIT_MS
  while (Date.now() < deadline && applier.appliedImage?.brokers.get(brokerId)?.fenced !== true) await sleep(10)
  await sleep(CONTROLLED_SHUTDOWN_LINGER_MS)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

// ---- The broker listener ---------------------------------------------------------------

interface ListenerServer {
  readonly name: string
  readonly server: grpc.Server
  readonly port: number
  /** advertised.listeners for this listener, if given. */
  readonly advertised: AdvertisedEndpoint | undefined
  /** The listener's bind host (empty: every interface). */
  readonly host: string
}

interface BrokerShell {
  /** Every broker listener's server; the inter-broker one first. */
  readonly servers: readonly ListenerServer[]
  /** The inter-broker listener's bound port. */
  readonly port: number
  /** Filled in once the broker exists; calls before that get UNAVAILABLE. */
  target: BrokerTarget | null
}

interface BrokerTarget {
  readonly replicas: ReplicaService
  readonly applier: MetadataApplier
  readonly admin: AdminForwarder
  readonly producerIds: ProducerIdManager
  readonly groups: GroupCoordinator
  readonly driver: () => RaftDriver | null
  readonly clusterId: string
  /** The replica manager's topic defaults, for DescribeConfigs. */
  readonly topicDefaults: TopicDefaults & CleanupPolicyDefault
}

function notReady(): CallStatusError {
  return new CallStatusError(grpc.status.UNAVAILABLE, 'the broker is starting or stopping')
}

async function bindBrokerShell(config: NodeConfig, logger: PinoLogger): Promise<BrokerShell> {
  const settings = config.broker!
  const listeners: AdditionalBrokerListener[] = [
    { ...settings.listener, ...(settings.advertised === undefined ? {} : { advertised: settings.advertised }) },
    ...(settings.additionalListeners ?? []),
  ]
  const names = new Set(listeners.map((l) => l.name))
  if (names.size !== listeners.length) throw new Error(`broker listener names must be distinct (${listeners.map((l) => l.name).join(',')})`)
  let shell: BrokerShell | null = null
  const target = (): BrokerTarget => {
    const t = shell?.target ?? null
    if (t === null) throw notReady()
    return t
  }
  const servers: ListenerServer[] = []
  try {
    for (const listener of listeners) {
      const server = new grpc.Server(BROKER_SERVER_OPTIONS)
      server.addService(RAW_BROKER_SERVICE, listenerService(listener.name, target, logger))
      servers.push({ name: listener.name, server, port: 0, advertised: listener.advertised, host: listener.host })
      const port = await bindServer(server, listener.host, listener.port)
      servers[servers.length - 1] = { ...servers[servers.length - 1]!, port }
      logger.info({ listener: listener.name, host: listener.host, port }, 'broker listening')
    }
  } catch (err) {
    for (const s of servers) s.server.forceShutdown()
    throw err
  }
  shell = { servers, port: servers[0]!.port, target: null }
  return shell
}

/** BrokerService as served on the listener `listenerName`: Metadata and FindCoordinator answer with that listener's endpoints. */
function listenerService(listenerName: string, target: () => BrokerTarget, logger: PinoLogger): grpc.UntypedServiceImplementation {
  return brokerServiceImpl({
    logger: logger.child({ component: 'broker-service', listener: listenerName }),
    listenerName,
    replicas: () => target().replicas,
    metadata: () => {
      const t = target()
      const image = t.applier.appliedImage ?? t.applier.latestImage
      return { image, controllerId: t.driver()?.status().leaderId ?? -1, clusterId: t.clusterId, topicDefaults: t.topicDefaults }
    },
    admin: {
      createTopics: (r) => target().admin.createTopics(r),
      deleteTopics: (r) => target().admin.deleteTopics(r),
      createPartitions: (r) => target().admin.createPartitions(r),
      electLeaders: (r) => target().admin.electLeaders(r),
      alterConfigs: (r) => target().admin.alterConfigs(r),
    },
    producerIds: () => target().producerIds,
    groups: () => {
      const t = target()
      return groupsOnListener(t.groups, listenerName, () => t.applier.appliedImage ?? t.applier.latestImage)
    },
  })
}

/**
 * The group RPCs as answered on one listener: the coordinator's FindCoordinator names the
 * coordinator's endpoint on the inter-broker listener; a client on another listener gets the
 * same broker's endpoint on its own listener instead (Kafka answers FindCoordinator with the
 * request's listener), or COORDINATOR_NOT_AVAILABLE if that broker did not register one.
 */
export function groupsOnListener(groups: GroupRequests, listenerName: string, image: () => MetadataImage | null): GroupRequests {
  return {
    findCoordinator: async (request) => {
      const answer = await groups.findCoordinator(request)
      return answer.errorCode === 0 ? coordinatorOnListener(answer, listenerName, image()) : answer
    },
    heartbeat: (r) => groups.heartbeat(r),
    commitOffsets: (r) => groups.commitOffsets(r),
    fetchOffsets: (r) => groups.fetchOffsets(r),
    listGroups: (r) => groups.listGroups(r),
    describeGroups: (r) => groups.describeGroups(r),
    deleteGroups: (r) => groups.deleteGroups(r),
  }
}

function coordinatorOnListener(answer: broker.FindCoordinatorResponse, listenerName: string, image: MetadataImage | null): broker.FindCoordinatorResponse {
  const endpoint = image?.brokers.get(answer.nodeId as NodeId)?.endpoints.find((e) => e.name === listenerName)
  if (endpoint === undefined) {
    return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE.code, errorMessage: `the coordinator ${answer.nodeId} has no ${listenerName} endpoint`, nodeId: -1, host: '', port: -1 }
  }
  return { ...answer, host: endpoint.host, port: endpoint.port }
}

// ---- The broker ------------------------------------------------------------------------

interface Broker {
  readonly applier: MetadataApplier
  readonly view: BrokerView
  start(): void
  close(): Promise<void>
}

async function createBroker(
  config: NodeConfig,
  shell: BrokerShell,
  clusterId: string,
  driver: () => RaftDriver | null,
  nodeLogger: PinoLogger,
  event: (line: string) => void,
  fatal: (err: unknown) => void,
): Promise<Broker> {
  const settings = config.broker!
  const brokerId = config.nodeId
  const logger = config.logger.child({ component: 'broker', nodeId: brokerId })
  const replicaConfig: ReplicaManagerConfig = { ...DEFAULT_REPLICA_SETTINGS, ...settings.replica, brokerId, logDir: config.logDir }

  const router = new ControllerRouter({
    voters: config.voters,
    leaderHint: () => driver()?.status().leaderId ?? null,
    logger: logger.child({ component: 'controller-router' }),
  })
  let replicas: ReplicaService
  try {
    replicas = await (settings.createReplicaManager ?? createDefaultReplicaManager)({
      config: replicaConfig,
      leaderChannels: new GrpcLeaderChannels({ listenerName: settings.listener.name, logger: logger.child({ component: 'leader-channels' }) }),
      controllerChannel: new RoutedControllerChannel(router),
      logger: config.logger,
      onStorageFailure: fatal,
    })
  } catch (err) {
    router.close()
    throw err
  }

  let lifecycle: BrokerLifecycle | null = null
  let groups: GroupCoordinator | null = null
  const applier = new MetadataApplier(
    (image) => replicas.applyMetadata(image),
    logger,
    fatal,
    (previous, image) => {
      if (previous === null) event(`applied metadata at offset ${image.offset}`)
      const line = previous === null ? null : localLeadershipEvent(previous, image, brokerId)
      if (line !== null) event(line)
      groups?.onImage(image)
      const epoch = lifecycle?.brokerEpoch ?? -1n
      // Caught up with our own registration: heartbeat now, the controller may unfence us.
      if (epoch >= 0n && previous !== null && BigInt(previous.offset) < epoch && BigInt(image.offset) >= epoch) lifecycle?.heartbeatSoon()
      if (epoch >= 0n && previous === null) lifecycle?.heartbeatSoon()
    },
  )
  const sessions = new BrokerSessions(brokerId, router, logger.child({ component: 'broker-sessions' }))

  // Every listener's advertised endpoint, the inter-broker one first (Kafka's RegisterBrokerRecord lists them all).
  const endpoints: metadata.Endpoint[] = shell.servers.map((s) => ({
    name: s.name,
    host: s.advertised?.host ?? (s.host === '' ? 'localhost' : s.host),
    port: s.advertised?.port ?? s.port,
  }))
  const endpointsText = endpoints.map((e) => `${e.name}://${e.host}:${e.port}`).join(', ')

  let unfenced: () => void = () => {}
  const whenUnfenced = new Promise<void>((resolve) => (unfenced = resolve))
  lifecycle = new BrokerLifecycle({
    brokerId,
    endpoints,
    rack: settings.rack ?? '',
    router,
    heartbeatIntervalMs: settings.heartbeatIntervalMs ?? DEFAULT_BROKER_HEARTBEAT_INTERVAL_MS,
    appliedOffset: () => applier.appliedOffset,
    newIncarnationId: () => randomUUID(),
    onRegistered: (brokerEpoch) => {
      replicas.setBrokerEpoch(brokerEpoch)
      sessions.setEpoch(brokerEpoch)
      applier.openGate(Number(brokerEpoch))
      event(`broker registered with epoch ${brokerEpoch} (${endpointsText})`)
    },
    onFencedChange: (fenced) => {
      event(fenced ? 'broker fenced by the controller' : 'broker unfenced: serving')
      if (!fenced) unfenced()
    },
    logger,
  })
  const lc = lifecycle

  const forward = async <Res extends ControllerAnswer>(what: string, op: (client: ControllerClient) => Promise<Res>): Promise<Res> => {
    try {
      return await router.call(what, op, Date.now() + ADMIN_FORWARD_TIMEOUT_MS)
    } catch (err) {
      throw new CallStatusError(grpc.status.UNAVAILABLE, `${what}: no controller answered (${errorMessage(err)})`)
    }
  }
  const admin: AdminForwarder = {
    createTopics: (r) => forward('CreateTopics', (c) => c.createTopics(r)),
    deleteTopics: (r) => forward('DeleteTopics', (c) => c.deleteTopics(r)),
    createPartitions: (r) => forward('CreatePartitions', (c) => c.createPartitions(r)),
    electLeaders: (r) => forward('ElectLeaders', (c) => c.electLeaders(r)),
    alterConfigs: (r) => forward('AlterConfigs', (c) => c.alterConfigs(r)),
  }
  // Idempotent producers' ids, in blocks from the active controller (KIP-730).
  const producerIds = new ProducerIdManager(
    () => router.call('AllocateProducerIds', (c) => c.allocateProducerIds({ brokerId, brokerEpoch: lc.brokerEpoch }), Date.now() + ADMIN_FORWARD_TIMEOUT_MS),
    logger.child({ component: 'producer-ids' }),
  )

  // The group coordinator (KIP-848): shards of the __consumer_offsets partitions this broker leads.
  const coordinator = new GroupCoordinator({
    brokerId,
    listenerName: settings.listener.name,
    replicas,
    createTopics: admin.createTopics,
    offsetsTopicPartitions: settings.offsetsTopicPartitions ?? DEFAULT_OFFSETS_TOPIC_PARTITIONS,
    groupConfig: {
      ...DEFAULT_CONSUMER_GROUP_CONFIG,
      sessionTimeoutMs: settings.groupSessionTimeoutMs ?? DEFAULT_CONSUMER_GROUP_CONFIG.sessionTimeoutMs,
      heartbeatIntervalMs: settings.groupHeartbeatIntervalMs ?? DEFAULT_CONSUMER_GROUP_CONFIG.heartbeatIntervalMs,
    },
    logger: logger.child({ component: 'group-coordinator' }),
  })
  groups = coordinator

  let closing: Promise<void> | null = null
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const shutdownTimeoutMs = settings.controlledShutdownTimeoutMs ?? CONTROLLED_SHUTDOWN_TIMEOUT_MS
      if (lc.registered) {
        const moved = await lc.controlledShutdown(shutdownTimeoutMs)
        event(moved ? 'controlled shutdown complete: leaderships moved away' : 'controlled shutdown timed out; stopping anyway')
        if (moved) await lingerAfterControlledShutdown(applier, brokerId)
      }
      lc.stop()
      sessions.close()
      const serverDown = Promise.all(shell.servers.map((s) => shutdownServer(s.server, SERVER_SHUTDOWN_GRACE_MS)))
      await applier.close()
      await coordinator.close()
      try {
        await replicas.close()
      } catch (err) {
        nodeLogger.warn({ err: errorMessage(err) }, 'closing the replica manager failed')
      }
      shell.target = null
      await serverDown
      router.close()
    })()
    return closing
  }

  return {
    applier,
    view: {
      port: shell.port,
      ports: new Map(shell.servers.map((s) => [s.name, s.port])),
      get brokerEpoch() { return lc.brokerEpoch },
      get registered() { return lc.registered },
      get fenced() { return lc.fenced },
      get appliedOffset() { return applier.appliedOffset },
      get sessionStreamsOpen() { return sessions.openCount },
      replicas,
      image: () => applier.appliedImage ?? applier.latestImage,
      whenUnfenced: () => whenUnfenced,
    },
    start: () => {
      shell.target = { replicas, applier, admin, producerIds, groups: coordinator, driver, clusterId, topicDefaults: replicaConfig }
      lc.start()
    },
    close,
  }
}
