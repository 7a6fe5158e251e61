/**
 * `trib server` configuration: Kafka's key names, parsed strictly.
 *
 * Sources, lowest precedence first: the --config properties file, TRIB_* environment
 * variables (the key upper-cased, dots as underscores: node.id -> TRIB_NODE_ID), then each
 * --override key=value in order. Every key must be known and every value valid; the first
 * problem is returned as `{ kind: 'error', key, message }`, where `message` is one line that
 * names the key and where the value came from. Cross-key rules (a controller's node.id must
 * be a voter, it needs a controller listener, ...) run after all values are in.
 *
 * Defaults favour safety (DESIGN.md "The node process"): replication factor 3,
 * min.insync.replicas 2 when the replication factor is at least 3, unclean election off
 * (and only off: an unclean election can lose acknowledged records), fsync durability
 * (log.flush.policy=fsync; page-cache is Kafka's mode).
 * Listeners are Kafka's named listeners (KIP-103): `listeners` may hold several broker
 * listeners (INTERNAL://:29092,EXTERNAL://:9092) beside the controller one; each is served
 * and registered with its advertised endpoint, clients get the endpoints of the listener
 * they connected to, and brokers replicate over inter.broker.listener.name.
 * listener.security.protocol.map only accepts PLAINTEXT (no TLS or SASL yet).
 * Quorum timings default to DEFAULT_RAFT_TIMING (tighter than Kafka's, made for a LAN); the
 * metadata snapshot policy to DEFAULT_CONTROLLER_CONFIG, which uses Kafka's defaults.
 */
import { nodeId as toNodeId, type NodeId } from '@tributary/protocol'
import { DEFAULT_CONTROLLER_CONFIG, DEFAULT_RAFT_TIMING } from '@tributary/metadata-quorum'
import { parseProperties } from './properties-file.js'

export type ProcessRole = 'broker' | 'controller'

/** log.flush.policy: when a replica's appends count toward the high watermark. */
export type LogFlushPolicy = 'fsync' | 'page-cache'

export interface HostPort {
  /** Empty means "all interfaces" in a listener (Kafka's `PLAINTEXT://:9092`). */
  readonly host: string
  readonly port: number
}

export interface ListenerConfig extends HostPort {
  /** Upper-case listener name, e.g. CONTROLLER or PLAINTEXT. */
  readonly name: string
}

/** Kafka's security protocols; only PLAINTEXT is supported. */
export type SecurityProtocol = 'PLAINTEXT'

export interface VoterConfig extends HostPort {
  readonly id: NodeId
}

export interface ServerConfig {
  readonly nodeId: NodeId
  readonly processRoles: readonly ProcessRole[]
  readonly controllerQuorumVoters: readonly VoterConfig[]
  readonly controllerListenerNames: readonly string[]
  readonly listeners: readonly ListenerConfig[]
  readonly advertisedListeners: readonly ListenerConfig[]
  /** listener.security.protocol.map as given; empty when unset (every listener is then PLAINTEXT). */
  readonly listenerSecurityProtocolMap: ReadonlyMap<string, SecurityProtocol>
  readonly logDirs: readonly string[]
  readonly numPartitions: number
  readonly defaultReplicationFactor: number
  readonly minInsyncReplicas: number
  readonly logSegmentBytes: number
  /** log.roll.ms, else log.roll.hours. */
  readonly logRollMs: number
  /** log.retention.ms, else log.retention.minutes, else log.retention.hours; -1: forever. */
  readonly logRetentionMs: number
  readonly logRetentionBytes: number
  readonly logRetentionCheckIntervalMs: number
  /** log.flush.offset.checkpoint.interval.ms: recovery-point and high-watermark checkpoints. */
  readonly logFlushOffsetCheckpointIntervalMs: number
  /** log.flush.policy: fsync (default) or page-cache. */
  readonly logFlushPolicy: LogFlushPolicy
  /** log.cleanup.policy: the cleanup.policy of topics that set none: delete (default), compact or compact,delete. */
  readonly logCleanupPolicy: string
  /** log.cleaner.enable and log.cleaner.backoff.ms: the log cleaner of compacted topics and the pause between its rounds. */
  readonly logCleanerEnable: boolean
  readonly logCleanerBackoffMs: number
  readonly messageMaxBytes: number
  readonly replicaLagTimeMaxMs: number
  readonly replicaFetchWaitMaxMs: number
  readonly replicaFetchMaxBytes: number
  readonly replicaFetchResponseMaxBytes: number
  readonly replicaFetchBackoffMs: number
  readonly brokerSessionTimeoutMs: number
  readonly brokerHeartbeatIntervalMs: number
  /** Partitions of __consumer_offsets when a broker creates it (fixed once it exists). */
  readonly offsetsTopicNumPartitions: number
  /** group.consumer.session.timeout.ms: a group member not heard from for this long is fenced (KIP-848). */
  readonly groupConsumerSessionTimeoutMs: number
  /** group.consumer.heartbeat.interval.ms: the interval the coordinator tells members to heartbeat at (KIP-848). */
  readonly groupConsumerHeartbeatIntervalMs: number
  /** Only false is accepted (see the module header). */
  readonly uncleanLeaderElectionEnable: boolean
  readonly autoLeaderRebalanceEnable: boolean
  readonly leaderImbalanceCheckIntervalSeconds: number
  /** cluster.id; null: the one in meta.properties, or derived from controller.quorum.voters on a first start. */
  readonly clusterId: string | null
  /** inter.broker.listener.name as given; null: PLAINTEXT if that is a broker listener, else the first broker listener (see brokerListener). */
  readonly interBrokerListenerName: string | null
  readonly quorumFetchTimeoutMs: number
  readonly quorumElectionTimeoutMs: number
  readonly quorumElectionBackoffMaxMs: number
  readonly quorumRequestTimeoutMs: number
  /** metadata.log.max.record.bytes.between.snapshots */
  readonly metadataLogMaxRecordBytesBetweenSnapshots: number
  /** metadata.log.max.snapshot.interval.ms; 0 turns time-based snapshots off. */
  readonly metadataLogMaxSnapshotIntervalMs: number
}

export type ConfigResult =
  | { readonly kind: 'ok'; readonly config: ServerConfig }
  | { readonly kind: 'error'; readonly key: string; readonly message: string }

export interface ConfigSources {
  /** Text of the --config file and the name to show in errors. */
  readonly file?: { readonly name: string; readonly text: string }
  /** Each --override argument, `key=value`. */
  readonly overrides?: readonly string[]
  /** Usually process.env; only TRIB_* variables are read. */
  readonly env?: Readonly<Record<string, string | undefined>>
}

export const ENV_PREFIX = 'TRIB_'

// ---- key table -------------------------------------------------------------------------

type Parsed<T> = { ok: true; value: T } | { ok: false; why: string }

interface KeyDef<T> {
  /** Raw default; `undefined` means required (or computed, see resolve()). */
  readonly default?: string
  readonly parse: (raw: string) => Parsed<T>
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value })
const bad = <T>(why: string): Parsed<T> => ({ ok: false, why })

const INT32_MAX = 2147483647

function int(min: number, max: number): (raw: string) => Parsed<number> {
  return (raw) => {
    const s = raw.trim()
    if (!/^-?\d+$/.test(s)) return bad(`must be an integer between ${min} and ${max}`)
    const n = Number(s)
    if (!Number.isSafeInteger(n) || n < min || n > max) return bad(`must be an integer between ${min} and ${max}`)
    return ok(n)
  }
}

/** Kafka's cleanup.policy list: delete, compact, or both. */
function cleanupPolicy(raw: string): Parsed<string> {
  const parts = list(raw.toLowerCase())
  if (parts.length === 0 || parts.length > 2 || parts.some((p) => p !== 'delete' && p !== 'compact') || (parts.length === 2 && parts[0] === parts[1])) {
    return bad("must be delete, compact or compact,delete")
  }
  return ok(parts.join(','))
}

function bool(raw: string): Parsed<boolean> {
  const s = raw.trim().toLowerCase()
  if (s === 'true') return ok(true)
  if (s === 'false') return ok(false)
  return bad('must be true or false')
}

function list(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s !== '')
}

function hostPort(raw: string, allowEmptyHost: boolean): Parsed<HostPort> {
  // host:port, [ipv6]:port, or :port when allowed.
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d+)$/.exec(raw.trim())
  if (m === null) return bad(`'${raw}' is not host:port`)
  const host = m[1] ?? m[2] ?? ''
  const port = Number(m[3])
  if (!allowEmptyHost && host === '') return bad(`'${raw}' has no host`)
  if (!Number.isInteger(port) || port < 1 || port > 65535) return bad(`port ${m[3]} is not between 1 and 65535`)
  return ok({ host, port })
}

function roles(raw: string): Parsed<ProcessRole[]> {
  const items = list(raw.toLowerCase())
  if (items.length === 0) return bad('must list broker, controller or both')
  const out: ProcessRole[] = []
  for (const item of items) {
    if (item !== 'broker' && item !== 'controller') return bad(`'${item}' is not a role (broker, controller)`)
    if (out.includes(item)) return bad(`'${item}' is listed twice`)
    out.push(item)
  }
  return ok(out.sort())
}

function voters(raw: string): Parsed<VoterConfig[]> {
  const items = list(raw)
  if (items.length === 0) return bad('must list at least one voter as id@host:port')
  const out: VoterConfig[] = []
  for (const item of items) {
    const at = item.indexOf('@')
    if (at < 0) return bad(`'${item}' is not id@host:port`)
    const id = int(0, INT32_MAX)(item.slice(0, at))
    if (!id.ok) return bad(`'${item}': the id ${id.why}`)
    const hp = hostPort(item.slice(at + 1), false)
    if (!hp.ok) return bad(hp.why)
    if (out.some((v) => v.id === id.value)) return bad(`voter ${id.value} is listed twice`)
    out.push({ id: toNodeId(id.value), ...hp.value })
  }
  return ok(out)
}

const LISTENER_NAME = /^[A-Z][A-Z0-9_]*$/

function listeners(raw: string): Parsed<ListenerConfig[]> {
  const out: ListenerConfig[] = []
  for (const item of list(raw)) {
    const m = /^([^:/]+):\/\/(.*)$/.exec(item)
    if (m === null) return bad(`'${item}' is not NAME://host:port`)
    const name = m[1]!.toUpperCase()
    if (!LISTENER_NAME.test(name)) return bad(`'${m[1]}' is not a listener name`)
    const hp = hostPort(m[2]!, true)
    if (!hp.ok) return bad(`${name}: ${hp.why}`)
    if (out.some((l) => l.name === name)) return bad(`listener ${name} is listed twice`)
    out.push({ name, ...hp.value })
  }
  return ok(out)
}

function names(raw: string): Parsed<string[]> {
  const items = list(raw).map((s) => s.toUpperCase())
  if (items.length === 0) return bad('must name at least one listener')
  for (const n of items) if (!LISTENER_NAME.test(n)) return bad(`'${n}' is not a listener name`)
  return ok(items)
}

const SECURITY_PROTOCOLS: readonly string[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']

/** listener.security.protocol.map: NAME:PROTOCOL,...; Kafka's protocols are known, only PLAINTEXT is accepted. */
function protocolMap(raw: string): Parsed<Map<string, SecurityProtocol>> {
  const out = new Map<string, SecurityProtocol>()
  for (const item of list(raw)) {
    const m = /^([^:]+):([^:]+)$/.exec(item)
    if (m === null) return bad(`'${item}' is not NAME:PROTOCOL`)
    const name = m[1]!.trim().toUpperCase()
    const protocol = m[2]!.trim().toUpperCase()
    if (!LISTENER_NAME.test(name)) return bad(`'${m[1]}' is not a listener name`)
    if (out.has(name)) return bad(`listener ${name} is listed twice`)
    if (!SECURITY_PROTOCOLS.includes(protocol)) return bad(`${name}: '${m[2]}' is not a security protocol (${SECURITY_PROTOCOLS.join(', ')})`)
    if (protocol !== 'PLAINTEXT') return bad(`${name}: ${protocol} is not supported, only PLAINTEXT (no TLS or SASL yet)`)
    out.set(name, 'PLAINTEXT')
  }
  return ok(out)
}

function flushPolicy(raw: string): Parsed<LogFlushPolicy> {
  const s = raw.trim().toLowerCase()
  if (s === 'fsync' || s === 'page-cache') return ok(s)
  return bad('must be fsync (a replica counts toward the high watermark once its data is fsynced) or page-cache (Kafka\'s mode)')
}

/** unclean.leader.election.enable: parsed as Kafka's boolean, but true is refused. */
function uncleanElection(raw: string): Parsed<boolean> {
  const parsed = bool(raw)
  if (!parsed.ok) return parsed
  if (parsed.value) return bad('true is not supported: Tributary never elects an out-of-sync replica, which could lose acknowledged records; use false')
  return parsed
}

/** A Kafka cluster id: 22 base64url characters (a uuid), or any other non-empty id without spaces. */
function clusterId(raw: string): Parsed<string | null> {
  const s = raw.trim()
  if (s === '') return ok(null)
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(s)) return bad('must be letters, digits, _ or - (at most 64), like a Kafka cluster id')
  return ok(s)
}

function optionalName(raw: string): Parsed<string | null> {
  const s = raw.trim().toUpperCase()
  if (s === '') return ok(null)
  if (!LISTENER_NAME.test(s)) return bad(`'${raw}' is not a listener name`)
  return ok(s)
}

function dirs(raw: string): Parsed<string[]> {
  const items = list(raw)
  if (items.length === 0) return bad('must name at least one directory')
  return ok(items)
}

/** An integer, or empty for "not set" (keys whose default comes from another key). */
function optionalInt(min: number, max: number): (raw: string) => Parsed<number | null> {
  const parse = int(min, max)
  return (raw) => (raw.trim() === '' ? ok(null) : parse(raw))
}

function required<T>(parse: (raw: string) => Parsed<T>): KeyDef<T> {
  return { parse }
}
function withDefault<T>(def: string, parse: (raw: string) => Parsed<T>): KeyDef<T> {
  return { default: def, parse }
}

/** Every key `trib server` accepts. Adding a key here is all it takes to accept it. */
const KEYS = {
  'node.id': required(int(0, INT32_MAX)),
  'process.roles': withDefault('broker,controller', roles),
  'controller.quorum.voters': required(voters),
  'controller.listener.names': withDefault('CONTROLLER', names),
  'listeners': withDefault('PLAINTEXT://:9092', listeners),
  'advertised.listeners': withDefault('', listeners),
  // Computed default: ./data/node-<node.id> (DESIGN.md's local layout).
  'log.dirs': required(dirs),
  'num.partitions': withDefault('1', int(1, INT32_MAX)),
  'default.replication.factor': withDefault('3', int(1, 32767)),
  // Computed default: 2 when default.replication.factor >= 3, else 1.
  'min.insync.replicas': required(int(1, 32767)),
  'log.segment.bytes': withDefault('1073741824', int(14, INT32_MAX)),
  // Kafka's precedence: log.roll.ms over log.roll.hours.
  'log.roll.ms': withDefault('', optionalInt(1, Number.MAX_SAFE_INTEGER)),
  'log.roll.hours': withDefault('168', int(1, INT32_MAX)),
  // Kafka's precedence: log.retention.ms over .minutes over .hours; -1 keeps data forever.
  'log.retention.ms': withDefault('', optionalInt(-1, Number.MAX_SAFE_INTEGER)),
  'log.retention.minutes': withDefault('', optionalInt(-1, INT32_MAX)),
  'log.retention.hours': withDefault('168', int(-1, INT32_MAX)),
  'log.retention.bytes': withDefault('-1', int(-1, Number.MAX_SAFE_INTEGER)),
  'log.retention.check.interval.ms': withDefault('300000', int(1, Number.MAX_SAFE_INTEGER)),
  'log.flush.offset.checkpoint.interval.ms': withDefault('60000', int(0, INT32_MAX)),
  'log.flush.policy': withDefault('fsync', flushPolicy),
  'log.cleanup.policy': withDefault('delete', cleanupPolicy),
  'log.cleaner.enable': withDefault('true', bool),
  'log.cleaner.backoff.ms': withDefault('15000', int(1, INT32_MAX)),
  'message.max.bytes': withDefault('1048588', int(0, INT32_MAX)),
  'replica.lag.time.max.ms': withDefault('30000', int(1, INT32_MAX)),
  'replica.fetch.wait.max.ms': withDefault('500', int(0, INT32_MAX)),
  'replica.fetch.max.bytes': withDefault('1048576', int(0, INT32_MAX)),
  'replica.fetch.response.max.bytes': withDefault('10485760', int(0, INT32_MAX)),
  'replica.fetch.backoff.ms': withDefault('1000', int(0, INT32_MAX)),
  'broker.session.timeout.ms': withDefault('9000', int(1, INT32_MAX)),
  'broker.heartbeat.interval.ms': withDefault('500', int(1, INT32_MAX)),
  // Kafka's default is 50; 12 keeps a local 3-node cluster light (36 replicas, not 150) and
  // still spreads groups over every broker (the broker's DEFAULT_OFFSETS_TOPIC_PARTITIONS).
  'offsets.topic.num.partitions': withDefault('12', int(1, INT32_MAX)),
  // KIP-848's defaults; tests and benchmarks shorten them to see rebalances in seconds.
  'group.consumer.session.timeout.ms': withDefault('45000', int(1, INT32_MAX)),
  'group.consumer.heartbeat.interval.ms': withDefault('5000', int(1, INT32_MAX)),
  'unclean.leader.election.enable': withDefault('false', uncleanElection),
  'auto.leader.rebalance.enable': withDefault('true', bool),
  // Kafka's default is 300 s; ours is short so a returning node gets its leaderships back soon.
  'leader.imbalance.check.interval.seconds': withDefault('2', int(1, INT32_MAX)),
  'cluster.id': withDefault('', clusterId),
  'inter.broker.listener.name': withDefault('', optionalName),
  // Kafka's default maps PLAINTEXT, SSL, SASL_* to themselves; unset here means every listener is PLAINTEXT.
  'listener.security.protocol.map': withDefault('', protocolMap),
  'controller.quorum.fetch.timeout.ms': withDefault(String(DEFAULT_RAFT_TIMING.fetchTimeoutMs), int(10, INT32_MAX)),
  'controller.quorum.election.timeout.ms': withDefault(String(DEFAULT_RAFT_TIMING.electionTimeoutMs), int(1, INT32_MAX)),
  'controller.quorum.election.backoff.max.ms': withDefault(String(DEFAULT_RAFT_TIMING.electionJitterMs), int(1, INT32_MAX)),
  'controller.quorum.request.timeout.ms': withDefault(String(DEFAULT_RAFT_TIMING.requestTimeoutMs), int(1, INT32_MAX)),
  // Kafka's snapshot policy keys (KIP-630), with its bounds: bytes at least 1, interval at least 0.
  'metadata.log.max.record.bytes.between.snapshots': withDefault(String(DEFAULT_CONTROLLER_CONFIG.snapshotIntervalBytes), int(1, Number.MAX_SAFE_INTEGER)),
  'metadata.log.max.snapshot.interval.ms': withDefault(String(DEFAULT_CONTROLLER_CONFIG.snapshotIntervalMs), int(0, Number.MAX_SAFE_INTEGER)),
} as const satisfies Record<string, KeyDef<unknown>>

export type ConfigKey = keyof typeof KEYS

type ValueOf<K extends ConfigKey> = (typeof KEYS)[K] extends KeyDef<infer T> ? T : never

export const CONFIG_KEYS: readonly ConfigKey[] = Object.keys(KEYS) as ConfigKey[]

/** log.dir is Kafka's single-directory spelling of log.dirs. */
const ALIASES: Readonly<Record<string, ConfigKey>> = { 'log.dir': 'log.dirs' }

function isConfigKey(key: string): key is ConfigKey {
  return Object.hasOwn(KEYS, key)
}

export function envNameOf(key: string): string {
  return ENV_PREFIX + key.toUpperCase().replace(/\./g, '_')
}

const KEY_BY_ENV = new Map<string, ConfigKey>(CONFIG_KEYS.map((k) => [envNameOf(k), k]))

// ---- parsing ---------------------------------------------------------------------------

interface RawValue {
  readonly value: string
  /** Where it came from, for error messages: "server.properties:3", "TRIB_NODE_ID", "--override". */
  readonly source: string
}

class ConfigError extends Error {
  constructor(readonly key: string, message: string) {
    super(message)
  }
}

export function parseServerConfig(sources: ConfigSources): ConfigResult {
  try {
    return { kind: 'ok', config: resolve(collect(sources)) }
  } catch (err) {
    if (err instanceof ConfigError) return { kind: 'error', key: err.key, message: err.message }
    throw err
  }
}

function canonicalKey(key: string, source: string): ConfigKey {
  const k = ALIASES[key] ?? key
  if (!isConfigKey(k)) throw new ConfigError(key, `unknown config key '${key}' (${source})`)
  return k
}

function collect(sources: ConfigSources): Map<ConfigKey, RawValue> {
  const raw = new Map<ConfigKey, RawValue>()
  if (sources.file !== undefined) {
    for (const entry of parseProperties(sources.file.text)) {
      const source = `${sources.file.name}:${entry.line}`
      raw.set(canonicalKey(entry.key, source), { value: entry.value, source })
    }
  }
  const env = sources.env ?? {}
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(ENV_PREFIX)) continue
    const value = env[name]
    if (value === undefined) continue
    const key = KEY_BY_ENV.get(name)
    if (key === undefined) throw new ConfigError(name, `unknown config variable ${name}: it names no config key`)
    raw.set(key, { value, source: name })
  }
  for (const arg of sources.overrides ?? []) {
    const eq = arg.indexOf('=')
    if (eq <= 0) throw new ConfigError(arg, `--override '${arg}' is not key=value`)
    const key = arg.slice(0, eq).trim()
    raw.set(canonicalKey(key, '--override'), { value: arg.slice(eq + 1), source: '--override' })
  }
  return raw
}

function resolve(raw: Map<ConfigKey, RawValue>): ServerConfig {
  function get<K extends ConfigKey>(key: K, computedDefault?: string): ValueOf<K> {
    const def: KeyDef<unknown> = KEYS[key]
    const given = raw.get(key)
    const text = given?.value ?? computedDefault ?? def.default
    if (text === undefined) throw new ConfigError(key, `missing required config ${key}`)
    const parsed = def.parse(text)
    if (!parsed.ok) {
      const where = given === undefined ? 'default' : given.source
      throw new ConfigError(key, `invalid value '${text}' for ${key} (${where}): ${parsed.why}`)
    }
    return parsed.value as ValueOf<K>
  }

  const nodeId = toNodeId(get('node.id'))
  const processRoles = get('process.roles')
  const isController = processRoles.includes('controller')
  const isBroker = processRoles.includes('broker')
  const controllerListenerNames = get('controller.listener.names')
  const listenerList = get('listeners')
  const advertised = get('advertised.listeners')
  const defaultReplicationFactor = get('default.replication.factor')

  // Brokers need the voters too: they fetch the metadata log from the quorum as observers.
  const controllerQuorumVoters = get('controller.quorum.voters')

  if (isController) {
    if (!controllerQuorumVoters.some((v) => v.id === nodeId)) {
      throw new ConfigError(
        'node.id',
        `node.id ${nodeId} is not in controller.quorum.voters (${controllerQuorumVoters.map((v) => v.id).join(',')}); a controller must be a voter`,
      )
    }
    if (!listenerList.some((l) => controllerListenerNames.includes(l.name))) {
      throw new ConfigError('listeners', `listeners: a controller needs a listener named in controller.listener.names (${controllerListenerNames.join(',')}), e.g. CONTROLLER://localhost:19092`)
    }
  }
  if (isBroker && !isController && controllerQuorumVoters.some((v) => v.id === nodeId)) {
    throw new ConfigError('node.id', `node.id ${nodeId} is in controller.quorum.voters but process.roles=broker: a voter must have the controller role`)
  }
  const interBrokerListenerName = get('inter.broker.listener.name')
  if (isBroker) {
    const brokerListeners = listenerList.filter((l) => !controllerListenerNames.includes(l.name))
    if (brokerListeners.length === 0) {
      throw new ConfigError('listeners', `listeners: a broker needs a listener not named in controller.listener.names (${controllerListenerNames.join(',')}), e.g. PLAINTEXT://localhost:9092`)
    }
    if (interBrokerListenerName !== null && !brokerListeners.some((l) => l.name === interBrokerListenerName)) {
      throw new ConfigError('inter.broker.listener.name', `inter.broker.listener.name: ${interBrokerListenerName} is not a broker listener in listeners`)
    }
  }
  const logDirList = get('log.dirs', `./data/node-${nodeId}`)
  if (logDirList.length > 1) {
    throw new ConfigError('log.dirs', `log.dirs: only one directory is supported (got ${logDirList.length}: ${logDirList.join(',')})`)
  }
  const ports = new Set<number>()
  for (const l of listenerList) {
    if (ports.has(l.port)) throw new ConfigError('listeners', `listeners: port ${l.port} is used by two listeners`)
    ports.add(l.port)
  }
  for (const a of advertised) {
    if (!listenerList.some((l) => l.name === a.name)) throw new ConfigError('advertised.listeners', `advertised.listeners: ${a.name} is not in listeners`)
    if (a.host === '' || a.host === '0.0.0.0' || a.host === '::') throw new ConfigError('advertised.listeners', `advertised.listeners: ${a.name} needs a host others can reach`)
  }
  const protocols = get('listener.security.protocol.map')
  for (const l of listenerList) {
    // Kafka: an explicit map must name every listener; without one, a listener named after a protocol uses that protocol.
    const protocol = protocols.size > 0 ? protocols.get(l.name) : SECURITY_PROTOCOLS.includes(l.name) ? l.name : 'PLAINTEXT'
    if (protocol === undefined) {
      throw new ConfigError('listener.security.protocol.map', `listener.security.protocol.map: no security protocol for listener ${l.name} (e.g. ${l.name}:PLAINTEXT)`)
    }
    if (protocol !== 'PLAINTEXT') {
      throw new ConfigError('listener.security.protocol.map', `listener.security.protocol.map: listener ${l.name} would use ${protocol}, which is not supported (only PLAINTEXT); map it with ${l.name}:PLAINTEXT`)
    }
  }

  const sessionTimeoutMs = get('broker.session.timeout.ms')
  const heartbeatIntervalMs = get('broker.heartbeat.interval.ms')
  const groupSessionTimeoutMs = get('group.consumer.session.timeout.ms')
  const groupHeartbeatIntervalMs = get('group.consumer.heartbeat.interval.ms')
  // Kafka's GroupCoordinatorConfig requires the same: a member must get to heartbeat before it expires.
  if (groupHeartbeatIntervalMs >= groupSessionTimeoutMs) {
    throw new ConfigError('group.consumer.heartbeat.interval.ms', `group.consumer.heartbeat.interval.ms (${groupHeartbeatIntervalMs}) must be below group.consumer.session.timeout.ms (${groupSessionTimeoutMs})`)
  }
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw new ConfigError('broker.heartbeat.interval.ms', `broker.heartbeat.interval.ms (${heartbeatIntervalMs}) must be below broker.session.timeout.ms (${sessionTimeoutMs})`)
  }
  const retentionMinutes = get('log.retention.minutes')
  const retentionMs = get('log.retention.ms') ?? (retentionMinutes !== null ? minutesToMs(retentionMinutes) : hoursToMs(get('log.retention.hours')))
  const logRollMs = get('log.roll.ms') ?? get('log.roll.hours') * 3_600_000

  const fetchTimeoutMs = get('controller.quorum.fetch.timeout.ms')
  const electionTimeoutMs = get('controller.quorum.election.timeout.ms')
  if (electionTimeoutMs >= fetchTimeoutMs) {
    throw new ConfigError(
      'controller.quorum.election.timeout.ms',
      `controller.quorum.election.timeout.ms (${electionTimeoutMs}) must be below controller.quorum.fetch.timeout.ms (${fetchTimeoutMs})`,
    )
  }

  return {
    nodeId,
    processRoles,
    controllerQuorumVoters,
    controllerListenerNames,
    listeners: listenerList,
    advertisedListeners: advertised,
    listenerSecurityProtocolMap: protocols,
    logDirs: logDirList,
    numPartitions: get('num.partitions'),
    defaultReplicationFactor,
    minInsyncReplicas: get('min.insync.replicas', defaultReplicationFactor >= 3 ? '2' : '1'),
    logSegmentBytes: get('log.segment.bytes'),
    logRollMs,
    logRetentionMs: retentionMs,
    logRetentionBytes: get('log.retention.bytes'),
    logRetentionCheckIntervalMs: get('log.retention.check.interval.ms'),
    logFlushOffsetCheckpointIntervalMs: get('log.flush.offset.checkpoint.interval.ms'),
    logFlushPolicy: get('log.flush.policy'),
    logCleanupPolicy: get('log.cleanup.policy'),
    logCleanerEnable: get('log.cleaner.enable'),
    logCleanerBackoffMs: get('log.cleaner.backoff.ms'),
    messageMaxBytes: get('message.max.bytes'),
    replicaLagTimeMaxMs: get('replica.lag.time.max.ms'),
    replicaFetchWaitMaxMs: get('replica.fetch.wait.max.ms'),
    replicaFetchMaxBytes: get('replica.fetch.max.bytes'),
    replicaFetchResponseMaxBytes: get('replica.fetch.response.max.bytes'),
    replicaFetchBackoffMs: get('replica.fetch.backoff.ms'),
    brokerSessionTimeoutMs: sessionTimeoutMs,
    brokerHeartbeatIntervalMs: heartbeatIntervalMs,
    offsetsTopicNumPartitions: get('offsets.topic.num.partitions'),
    groupConsumerSessionTimeoutMs: groupSessionTimeoutMs,
    groupConsumerHeartbeatIntervalMs: groupHeartbeatIntervalMs,
    uncleanLeaderElectionEnable: get('unclean.leader.election.enable'),
    autoLeaderRebalanceEnable: get('auto.leader.rebalance.enable'),
    leaderImbalanceCheckIntervalSeconds: get('leader.imbalance.check.interval.seconds'),
    clusterId: get('cluster.id'),
    interBrokerListenerName,
    quorumFetchTimeoutMs: fetchTimeoutMs,
    quorumElectionTimeoutMs: electionTimeoutMs,
    quorumElectionBackoffMaxMs: get('controller.quorum.election.backoff.max.ms'),
    quorumRequestTimeoutMs: get('controller.quorum.request.timeout.ms'),
    metadataLogMaxRecordBytesBetweenSnapshots: get('metadata.log.max.record.bytes.between.snapshots'),
    metadataLogMaxSnapshotIntervalMs: get('metadata.log.max.snapshot.interval.ms'),
  }
}

function minutesToMs(minutes: number): number {
  return minutes < 0 ? -1 : minutes * 60_000
}

function hoursToMs(hours: number): number {
  return hours < 0 ? -1 : hours * 3_600_000
}

/** Every listener the broker serves BrokerService on: those not named in controller.listener.names, in config order. */
export function brokerListeners(config: ServerConfig): ListenerConfig[] {
  return config.listeners.filter((l) => !config.controllerListenerNames.includes(l.name))
}

/**
 * The inter-broker listener: replica fetchers reach leaders on its endpoints.
 * inter.broker.listener.name if set; else PLAINTEXT (Kafka's default, from
 * security.inter.broker.protocol) when that is a broker listener; else the first broker
 * listener (Kafka would refuse the config; one unnamed choice keeps single-listener configs simple).
 */
export function brokerListener(config: ServerConfig): ListenerConfig | undefined {
  const candidates = brokerListeners(config)
  if (config.interBrokerListenerName !== null) return candidates.find((l) => l.name === config.interBrokerListenerName)
  return candidates.find((l) => l.name === 'PLAINTEXT') ?? candidates[0]
}

/** The advertised endpoint of a listener: advertised.listeners if it names it, else the listener (localhost for all interfaces). */
export function advertisedEndpoint(config: ServerConfig, listener: ListenerConfig): HostPort {
  const advertised = config.advertisedListeners.find((a) => a.name === listener.name)
  if (advertised !== undefined) return { host: advertised.host, port: advertised.port }
  const host = listener.host === '' || listener.host === '0.0.0.0' || listener.host === '::' ? 'localhost' : listener.host
  return { host, port: listener.port }
}

/** The listener a controller serves RaftService and ControllerService on. */
export function controllerListener(config: ServerConfig): ListenerConfig | undefined {
  return config.listeners.find((l) => config.controllerListenerNames.includes(l.name))
}

/** Upper bound of the leader's long-poll hold of a Fetch (KIP-595); no Kafka key sets it. */
export const FETCH_MAX_WAIT_MS_MAX = DEFAULT_RAFT_TIMING.fetchMaxWaitMs

/**
 * The quorum timing keys as RaftConfig fields. controller.quorum.election.backoff.max.ms is
 * the random part of each election wait (Kafka's bounded random backoff); the long-poll wait
 * stays well below the fetch timeout so a held fetch never looks like a dead leader.
 */
export function raftTimingOf(config: ServerConfig): {
  fetchTimeoutMs: number
  electionTimeoutMs: number
  electionJitterMs: number
  requestTimeoutMs: number
  fetchMaxWaitMs: number
} {
  return {
    fetchTimeoutMs: config.quorumFetchTimeoutMs,
    electionTimeoutMs: config.quorumElectionTimeoutMs,
    electionJitterMs: config.quorumElectionBackoffMaxMs,
    requestTimeoutMs: config.quorumRequestTimeoutMs,
    fetchMaxWaitMs: Math.min(FETCH_MAX_WAIT_MS_MAX, Math.floor(config.quorumFetchTimeoutMs / 2)),
  }
}
