/**
 * `trib server [server.properties] [--config FILE] [--override key=value ...]`: starts one
 * node, like kafka-server-start.sh, in any of its roles: process.roles=broker, controller, or
 * broker,controller (combined mode). The node itself is the broker package's startNode.
 *
 * Output: JSON logs go to <first log dir>/server.log; stdout gets one short line per
 * important event ("[node 1] became leader in epoch 3"); any startup error is ONE line on
 * stderr and exit code 1. SIGTERM or SIGINT shuts down cleanly (a leader resigns first) and
 * exits 0 (a broker first moves its leaderships away: controlled shutdown); a second signal
 * exits at once with 1. A storage failure or a stopped Raft loop exits 1 (a restart recovers). The handlers are installed before startup,
 * so a signal that arrives while the node starts is remembered and acted on as soon as the
 * start finishes (a launcher stopping a cluster mid-start must not kill nodes silently).
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Command, Option } from 'commander'
import pino from 'pino'
import { MetaPropertiesError, startNode, type NodeConfig, type TributaryNode } from '@tributary/broker'
import { DirLockError, PortInUseError, routeGrpcLogs } from '@tributary/metadata-quorum'
import { CliError, oneLine } from '../cli-error.js'
import {
  advertisedEndpoint,
  brokerListener,
  brokerListeners,
  CONFIG_KEYS,
  controllerListener,
  parseServerConfig,
  raftTimingOf,
  type ConfigKey,
  type ListenerConfig,
  type ServerConfig,
} from './server-config.js'

export const SERVER_LOG_FILE = 'server.log'

export interface ServerIo {
  readonly out: (line: string) => void
  readonly err: (line: string) => void
  readonly env: Readonly<Record<string, string | undefined>>
  readonly exit: (code: number) => void
}

/**
 * Every config key is also a flag of its own, dots turned into dashes
 * (`--process-roles controller` is `--override process.roles=controller`). The key flags
 * apply before the --override entries, so an explicit --override wins.
 */
const KEY_FLAGS: readonly { readonly key: ConfigKey; readonly option: Option }[] = CONFIG_KEYS.map((key) => ({
  key,
  option: new Option(`--${key.replaceAll('.', '-')} <value>`, `sets ${key}`),
}))

export function serverCommand(io: ServerIo): Command {
  const command = new Command('server')
    .description('Start a Tributary node (kafka-server-start). Keys use Kafka\'s names; values come from the file, TRIB_* variables (TRIB_NODE_ID), then the key flags and --override, in rising precedence.')
    .argument('[config]', 'server.properties file (same as --config)')
    .option('--config <file>', 'server.properties file')
    .option('--override <key=value>', 'set one config key; repeatable', (value: string, previous: string[]) => [...previous, value], [] as string[])
  for (const { option } of KEY_FLAGS) command.addOption(option)
  return command.action(async (configArg: string | undefined, options: Record<string, unknown>) => {
    const configFlag = typeof options.config === 'string' ? options.config : undefined
    if (configArg !== undefined && configFlag !== undefined && configArg !== configFlag) {
      throw new CliError('give the config file once: as an argument or with --config')
    }
    const keyOverrides = KEY_FLAGS.flatMap(({ key, option }) => {
      const value = options[option.attributeName()]
      return typeof value === 'string' ? [`${key}=${value}`] : []
    })
    const explicit = Array.isArray(options.override) ? options.override.filter((o): o is string => typeof o === 'string') : []
    const config = await loadConfig(configArg ?? configFlag, [...keyOverrides, ...explicit], io.env)
    await runServer(config, io)
  })
}

async function loadConfig(file: string | undefined, overrides: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<ServerConfig> {
  let text: string | undefined
  if (file !== undefined) {
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      throw new CliError(`cannot read config file ${file}: ${oneLine(err)}`)
    }
  }
  const result = parseServerConfig({ ...(file !== undefined && text !== undefined ? { file: { name: file, text } } : {}), overrides, env })
  if (result.kind === 'error') throw new CliError(result.message)
  return result.config
}

/** The node's settings from the server config (the mapping of Kafka's keys onto startNode). */
export function nodeConfigOf(config: ServerConfig, logger: NodeConfig['logger']): Omit<NodeConfig, 'onEvent' | 'onFatal'> {
  const isBroker = config.processRoles.includes('broker')
  const isController = config.processRoles.includes('controller')
  const controller = controllerListener(config)
  const broker = brokerListener(config)
  if (isController && controller === undefined) throw new CliError('listeners: no controller listener')
  if (isBroker && broker === undefined) throw new CliError('listeners: no broker listener')
  return {
    nodeId: config.nodeId,
    roles: config.processRoles,
    voters: config.controllerQuorumVoters,
    logDir: config.logDirs[0]!,
    ...(config.clusterId === null ? {} : { clusterId: config.clusterId }),
    ...(isController ? { controllerListener: { host: controller!.host, port: controller!.port } } : {}),
    ...(isBroker
      ? {
          broker: {
            listener: { name: broker!.name, host: broker!.host, port: broker!.port },
            advertised: advertisedEndpoint(config, broker!),
            // Every other broker listener (EXTERNAL beside INTERNAL): served and registered too.
            additionalListeners: brokerListeners(config)
              .filter((l) => l.name !== broker!.name)
              .map((l) => ({ name: l.name, host: l.host, port: l.port, advertised: advertisedEndpoint(config, l) })),
            heartbeatIntervalMs: config.brokerHeartbeatIntervalMs,
            offsetsTopicPartitions: config.offsetsTopicNumPartitions,
            groupSessionTimeoutMs: config.groupConsumerSessionTimeoutMs,
            groupHeartbeatIntervalMs: config.groupConsumerHeartbeatIntervalMs,
            replica: {
              durability: config.logFlushPolicy,
              replicaLagTimeMaxMs: config.replicaLagTimeMaxMs,
              replicaFetchWaitMaxMs: config.replicaFetchWaitMaxMs,
              replicaFetchMaxBytes: config.replicaFetchMaxBytes,
              replicaFetchResponseMaxBytes: config.replicaFetchResponseMaxBytes,
              replicaFetchBackoffMs: config.replicaFetchBackoffMs,
              minInsyncReplicas: config.minInsyncReplicas,
              segmentBytes: config.logSegmentBytes,
              rollMs: config.logRollMs,
              retentionMs: config.logRetentionMs,
              retentionBytes: config.logRetentionBytes,
              maxMessageBytes: config.messageMaxBytes,
              retentionCheckIntervalMs: config.logRetentionCheckIntervalMs,
              checkpointIntervalMs: config.logFlushOffsetCheckpointIntervalMs,
              cleanupPolicy: config.logCleanupPolicy,
              logCleanerEnable: config.logCleanerEnable,
              logCleanerBackoffMs: config.logCleanerBackoffMs,
            },
          },
        }
      : {}),
    raftTiming: raftTimingOf(config),
    controller: {
      defaultNumPartitions: config.numPartitions,
      defaultReplicationFactor: config.defaultReplicationFactor,
      brokerSessionTimeoutMs: config.brokerSessionTimeoutMs,
      snapshotIntervalBytes: config.metadataLogMaxRecordBytesBetweenSnapshots,
      snapshotIntervalMs: config.metadataLogMaxSnapshotIntervalMs,
      leaderImbalanceCheckIntervalMs: config.autoLeaderRebalanceEnable ? config.leaderImbalanceCheckIntervalSeconds * 1000 : 0,
    },
    logger,
  }
}

function listenerText(l: ListenerConfig, port: number): string {
  return `${l.name}://${l.host === '' ? '0.0.0.0' : l.host}:${port}`
}

async function runServer(config: ServerConfig, io: ServerIo): Promise<void> {
  const roles = config.processRoles.join(',')
  const logDir = config.logDirs[0]!
  try {
    await mkdir(logDir, { recursive: true })
  } catch (err) {
    throw new CliError(`log.dirs: cannot create ${logDir}: ${oneLine(err)}`)
  }

  const destination = pino.destination({ dest: join(logDir, SERVER_LOG_FILE), sync: false, mkdir: true })
  const root = pino({ level: 'info', base: null }, destination)
  const logger = root.child({ component: 'server', nodeId: config.nodeId })
  // grpc-js logs to stderr by default; keep stderr for our one-line errors.
  routeGrpcLogs(logger)

  const tag = `[node ${config.nodeId}]`
  const flush = (): void => {
    try {
      destination.flushSync()
    } catch {
      // Not open yet (the destination opens asynchronously): pending lines are written as
      // the process exits naturally; the log file is best effort at a hard exit.
    }
  }
  const flushAndExit = (code: number): void => {
    flush()
    io.exit(code)
  }
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception')
    io.err(`trib server: ${tag} fatal: ${oneLine(err)}`)
    flushAndExit(1)
  })
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unhandled rejection')
    io.err(`trib server: ${tag} fatal: ${oneLine(err)}`)
    flushAndExit(1)
  })

  // Installed before startup: a stop requested while starting closes the node once it is up.
  let node: TributaryNode | null = null
  let stopRequested: NodeJS.Signals | null = null
  const closeNode = (started: TributaryNode): void => {
    started.close().then(
      () => {
        io.out(`${tag} stopped`)
        flushAndExit(0)
      },
      (err: unknown) => {
        io.err(`trib server: ${tag} unclean shutdown: ${oneLine(err)}`)
        flushAndExit(1)
      },
    )
  }
  const stop = (signal: NodeJS.Signals): void => {
    if (stopRequested !== null) {
      io.err(`trib server: ${tag} second ${signal}: exiting now`)
      flushAndExit(1)
      return
    }
    stopRequested = signal
    io.out(`${tag} shutting down (${signal})${node === null ? ' once startup finishes' : ''}`)
    if (node !== null) closeNode(node)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)

  const nodeConfig = nodeConfigOf(config, root)
  try {
    node = await startNode({
      ...nodeConfig,
      onEvent: (line) => io.out(`${tag} ${line}`),
      onFatal: (err) => {
        io.err(`trib server: ${tag} stopped: ${oneLine(err)}`)
        flushAndExit(1)
      },
    })
  } catch (err) {
    logger.error({ err }, 'startup failed')
    flush()
    if (err instanceof PortInUseError) {
      const listener = config.listeners.find((l) => l.port === err.port)
      throw new CliError(`listeners: ${err.message}${listener === undefined ? '' : ` (${listenerText(listener, listener.port)})`}`)
    }
    if (err instanceof DirLockError) throw new CliError(`log.dirs: ${err.message}`)
    if (err instanceof MetaPropertiesError) throw new CliError(`${err.key}: ${err.message}`)
    throw new CliError(`${tag} cannot start: ${oneLine(err)}`)
  }
  const parts: string[] = []
  const b = brokerListener(config)
  if (node.broker !== null && b !== undefined) {
    const others = brokerListeners(config).filter((l) => l.name !== b.name)
    const bound = node.broker.ports
    parts.push(`broker on ${[b, ...others].map((l) => listenerText(l, bound.get(l.name) ?? l.port)).join(', ')}`)
  }
  const c = controllerListener(config)
  if (node.controller !== null && c !== undefined) parts.push(`controller on ${listenerText(c, node.controller.port)}`)
  logger.info({ roles, logDir, clusterId: node.clusterId }, 'started')
  io.out(`${tag} started as ${roles}: ${parts.join(', ')}, cluster ${node.clusterId}, data in ${logDir}`)
  if (stopRequested !== null) closeNode(node)
}
