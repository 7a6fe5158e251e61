/**
 * Admin: topics, offsets and the cluster, as Kafka's Admin client. Topic changes go to any
 * broker, which forwards them to the active controller (KIP-590); reads come from Metadata
 * and, for offsets, from the partition leaders (ListOffsets). Every call retries retriable
 * errors (NOT_CONTROLLER during an election, transport failures, stale leaders) within
 * the client's adminTimeoutMs.
 */
import { ErrorCode, controller, type broker } from '@tributary/protocol'
import type { Client } from '../client/client.js'
import { kafkaError, RetriesExhaustedError, TributaryError } from '../errors.js'
import { retry } from '../retry.js'
import { deleteGroup, describeGroup, listGroups } from './admin-groups.js'
import type { GroupDescription, ListedGroup } from './group-types.js'
import type {
  AlterConfigsOptions,
  ClusterDescription,
  CreateTopicsOptions,
  ListedTopic,
  NewTopic,
  OffsetSpec,
  PartitionOffset,
  TopicConfigAlteration,
  TopicConfigs,
  TopicDescription,
} from './types.js'

/** Kafka's Topic.MAX_NAME_LENGTH and legal characters. */
export const TOPIC_NAME_LENGTH_MAX = 249
const TOPIC_NAME = /^[a-zA-Z0-9._-]+$/

/** Why `name` is not a legal topic name, or null (Kafka's Topic.validate). */
export function topicNameError(name: string): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'topic name is empty'
  if (name === '.' || name === '..') return `topic name cannot be '${name}'`
  if (name.length > TOPIC_NAME_LENGTH_MAX) return `topic name is longer than ${TOPIC_NAME_LENGTH_MAX} characters`
  if (!TOPIC_NAME.test(name)) return `topic name '${name}' has characters other than ASCII letters, digits, '.', '_' and '-'`
  return null
}

function invalid(what: string, message: string): TributaryError {
  return new TributaryError(ErrorCode.INVALID_REQUEST, `${what}: ${message}`)
}

/** One error for several per-item failures: the first alone, else all of them. */
function combine(what: string, errors: TributaryError[]): TributaryError {
  return errors.length === 1 ? errors[0]! : new RetriesExhaustedError(`${what}: ${errors.length} failed`, errors)
}

export class Admin {
  /** @internal Made by Client.admin(). */
  constructor(private readonly client: Client) {}

  /** Creates topics; by default waits until every partition has a leader. */
  async createTopics(topics: readonly NewTopic[], options: CreateTopicsOptions = {}): Promise<void> {
    const names = new Set<string>()
    for (const t of topics) {
      const nameError = topicNameError(t.name)
      if (nameError !== null) throw new TributaryError(ErrorCode.INVALID_TOPIC_EXCEPTION, `createTopics: ${nameError}`)
      if (names.has(t.name)) throw invalid('createTopics', `topic '${t.name}' is named twice`)
      names.add(t.name)
      if (t.partitions !== undefined && (!Number.isInteger(t.partitions) || t.partitions < 1)) {
        throw new TributaryError(ErrorCode.INVALID_PARTITIONS, `createTopics: '${t.name}' needs partitions >= 1, got ${t.partitions}`)
      }
      if (t.replicationFactor !== undefined && (!Number.isInteger(t.replicationFactor) || t.replicationFactor < 1 || t.replicationFactor > 32767)) {
        throw new TributaryError(ErrorCode.INVALID_REPLICATION_FACTOR, `createTopics: '${t.name}' needs a replication factor >= 1, got ${t.replicationFactor}`)
      }
    }
    if (topics.length === 0) return
    const deadlineMs = Date.now() + this.client.options.adminTimeoutMs
    const request: controller.CreateTopicsRequest = {
      topics: topics.map((t) => ({ name: t.name, numPartitions: t.partitions ?? -1, replicationFactor: t.replicationFactor ?? -1, configs: { ...(t.configs ?? {}) } })),
      validateOnly: options.validateOnly === true,
    }
    const res = await this.client.createTopicsRaw(request, deadlineMs)
    const errors: TributaryError[] = []
    for (const r of res.topics) {
      if (r.errorCode === ErrorCode.NONE.code) continue
      if (r.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS.code && options.ifNotExists === true) continue
      errors.push(kafkaError(r.errorCode, `createTopics '${r.name}'`, r.errorMessage))
    }
    if (errors.length > 0) throw combine('createTopics', errors)
    if (options.validateOnly !== true && options.waitForLeaders !== false) await this.waitForLeaders([...names], deadlineMs)
  }

  /** Deletes topics; an unknown one is UNKNOWN_TOPIC_OR_PARTITION. */
  async deleteTopics(names: readonly string[]): Promise<void> {
    if (names.length === 0) return
    const deadlineMs = Date.now() + this.client.options.adminTimeoutMs
    const res = await this.client.forward((s) => s.deleteTopics.bind(s), { names: [...names] }, 'DeleteTopics', deadlineMs)
    for (const n of names) this.client.cache.invalidate(n)
    const errors = res.topics.filter((t) => t.errorCode !== ErrorCode.NONE.code).map((t) => kafkaError(t.errorCode, `deleteTopics '${t.name}'`, t.errorMessage))
    if (errors.length > 0) throw combine('deleteTopics', errors)
  }

  /** Raises topics' partition counts to `count` (the new total). */
  async createPartitions(topics: readonly { readonly name: string; readonly count: number }[], options: { readonly validateOnly?: boolean } = {}): Promise<void> {
    for (const t of topics) {
      if (!Number.isInteger(t.count) || t.count < 1) throw new TributaryError(ErrorCode.INVALID_PARTITIONS, `createPartitions: '${t.name}' needs count >= 1, got ${t.count}`)
    }
    if (topics.length === 0) return
    const deadlineMs = Date.now() + this.client.options.adminTimeoutMs
    const request: controller.CreatePartitionsRequest = { topics: topics.map((t) => ({ name: t.name, count: t.count })), validateOnly: options.validateOnly === true }
    const res = await this.client.forward((s) => s.createPartitions.bind(s), request, 'CreatePartitions', deadlineMs)
    const errors = res.topics.filter((t) => t.errorCode !== ErrorCode.NONE.code).map((t) => kafkaError(t.errorCode, `createPartitions '${t.name}'`, t.errorMessage))
    if (errors.length > 0) throw combine('createPartitions', errors)
    for (const t of topics) this.client.cache.invalidate(t.name)
  }

  /** Every topic, internal ones flagged (left out with includeInternal: false), sorted by name. */
  async listTopics(options: { readonly includeInternal?: boolean } = {}): Promise<ListedTopic[]> {
    const res = await this.metadata('all')
    return res.topics
      .filter((t) => t.errorCode === ErrorCode.NONE.code && (options.includeInternal !== false || !t.isInternal))
      .map((t) => ({ name: t.name, topicId: t.topicId, isInternal: t.isInternal, partitions: t.partitions.length }))
      .sort((a, b) => a.name.localeCompare(b.name))
  }

  /** Leader, replicas and ISR of every partition of the named topics (every topic when none is named). */
  async describeTopics(names: readonly string[] = []): Promise<TopicDescription[]> {
    const res = await this.metadata(names.length === 0 ? 'all' : names)
    // The answer may name more topics than asked (the ones producers use): judge only those asked.
    const asked = res.topics.filter((t) => names.length === 0 || names.includes(t.name))
    const errors = asked.filter((t) => t.errorCode !== ErrorCode.NONE.code).map((t) => kafkaError(t.errorCode, `describeTopics '${t.name}'`))
    if (errors.length > 0) throw combine('describeTopics', errors)
    const out: TopicDescription[] = []
    for (const t of asked) {
      const info = this.client.cache.topic(t.name)
      if (info !== undefined) out.push(info)
    }
    return out.sort((a, b) => a.name.localeCompare(b.name))
  }

  /**
   * The brokers (unfenced), the active controller and the cluster id. `timeoutMs` (default the
   * client's adminTimeoutMs) bounds the retries: a command-line tool asks with a few seconds to
   * tell an unreachable cluster quickly.
   */
  async describeCluster(options: { readonly timeoutMs?: number } = {}): Promise<ClusterDescription> {
    await this.metadata([], options.timeoutMs)
    return this.client.cache.cluster()
  }

  /**
   * Offsets of a topic's partitions (all by default) at `spec`: 'latest' is the high
   * watermark, 'earliest' the log start, a timestamp the first offset at or after it
   * (-1n when none is). Asked of each partition's leader.
   */
  async listOffsets(topic: string, spec: OffsetSpec = 'latest', partitions?: readonly number[]): Promise<PartitionOffset[]> {
    const timestamp = spec === 'latest' ? -1n : spec === 'earliest' ? -2n : BigInt(spec)
    const deadlineMs = Date.now() + this.client.options.adminTimeoutMs
    return this.client.track(retry(async () => {
      const info = await this.client.topicMetadata(topic, deadlineMs)
      const wanted = partitions ?? info.partitions.map((p) => p.partition)
      const byLeader = new Map<string, number[]>()
      for (const p of wanted) {
        if (!info.partitions.some((x) => x.partition === p)) throw kafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code, `listOffsets ${topic}-${p}`)
        const leader = this.client.cache.leader(topic, p)
        if (leader === null) {
          this.client.cache.invalidate(topic)
          throw kafkaError(ErrorCode.LEADER_NOT_AVAILABLE.code, `listOffsets ${topic}-${p}`)
        }
        byLeader.set(leader.address, [...(byLeader.get(leader.address) ?? []), p])
      }
      const answers = await Promise.all([...byLeader].map(([address, ps]) => {
        const request: broker.ListOffsetsRequest = { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: ps.map((p) => ({ partitionIndex: p, currentLeaderEpoch: -1, timestamp })) }] }
        return this.client.call(address, (s) => s.listOffsets.bind(s), request, 'ListOffsets')
      }))
      const out: PartitionOffset[] = []
      for (const res of answers) {
        for (const p of res.topics.find((t) => t.name === topic)?.partitions ?? []) {
          if (p.errorCode !== ErrorCode.NONE.code) {
            this.client.onPartitionError(topic, p.partitionIndex, p.errorCode)
            throw kafkaError(p.errorCode, `listOffsets ${topic}-${p.partitionIndex}`)
          }
          out.push({ topic, partition: p.partitionIndex, offset: p.offset, timestamp: p.timestamp, leaderEpoch: p.leaderEpoch })
        }
      }
      return out.sort((a, b) => a.partition - b.partition)
    }, { deadlineMs, backoff: this.client.backoff, what: `listOffsets ${topic}`, signal: this.client.closeSignal }))
  }

  /**
   * Topic configs as a broker's metadata image holds them: every key the broker honours, with
   * the topic's value or the broker default (isDefault). Any broker answers from its own view,
   * so right after alterConfigs a broker may still show the old value for a moment (as in
   * Kafka). An unknown topic fails at once with UNKNOWN_TOPIC_OR_PARTITION.
   */
  async describeConfigs(resources: readonly { readonly topic: string }[]): Promise<TopicConfigs[]> {
    if (resources.length === 0) return []
    const topics = [...new Set(resources.map((r) => r.topic))]
    const res = await this.client.track(retry(() => this.client.callAny((s) => s.describeConfigs.bind(s), { topics }, 'DescribeConfigs'), {
      deadlineMs: Date.now() + this.client.options.adminTimeoutMs,
      backoff: this.client.backoff,
      what: 'DescribeConfigs',
      signal: this.client.closeSignal,
    }))
    const errors = res.results.filter((r) => r.errorCode !== ErrorCode.NONE.code).map((r) => kafkaError(r.errorCode, `describeConfigs '${r.topic}'`, r.errorMessage))
    if (errors.length > 0) throw combine('describeConfigs', errors)
    return res.results.map((r) => ({ topic: r.topic, entries: r.entries.map((e) => ({ name: e.name, value: e.value, isDefault: e.isDefault })) }))
  }

  /**
   * Sets and deletes topic config keys (Kafka's incrementalAlterConfigs, KIP-339). Each
   * topic's changes apply together or not at all; an unknown key or a bad value is
   * INVALID_CONFIG, an unknown topic UNKNOWN_TOPIC_OR_PARTITION.
   */
  async alterConfigs(alterations: readonly TopicConfigAlteration[], options: AlterConfigsOptions = {}): Promise<void> {
    const topics = new Set<string>()
    for (const a of alterations) {
      if (topics.has(a.topic)) throw invalid('alterConfigs', `topic '${a.topic}' is named twice`)
      topics.add(a.topic)
      const both = (a.delete ?? []).filter((k) => Object.hasOwn(a.set ?? {}, k))
      if (both.length > 0) throw invalid('alterConfigs', `'${a.topic}' both sets and deletes ${both.join(', ')}`)
    }
    if (alterations.length === 0) return
    const { SET, DELETE } = controller.AlterConfigsOp_OpType
    const request: controller.AlterConfigsRequest = {
      resources: alterations.map((a) => ({
        topic: a.topic,
        ops: [
          ...Object.entries(a.set ?? {}).map(([name, value]) => ({ name, op: SET, value })),
          ...(a.delete ?? []).map((name) => ({ name, op: DELETE, value: '' })),
        ],
      })),
      validateOnly: options.validateOnly === true,
    }
    const deadlineMs = Date.now() + this.client.options.adminTimeoutMs
    const res = await this.client.forward((s) => s.alterConfigs.bind(s), request, 'AlterConfigs', deadlineMs)
    const errors = res.results.filter((r) => r.errorCode !== ErrorCode.NONE.code).map((r) => kafkaError(r.errorCode, `alterConfigs '${r.topic}'`, r.errorMessage))
    if (errors.length > 0) throw combine('alterConfigs', errors)
  }

  /** Every consumer group of the cluster with its state (each broker lists the groups it coordinates). */
  listGroups(): Promise<ListedGroup[]> {
    return listGroups(this.client)
  }

  /** A group's members, their assignments, its state, and the lag per partition (latest - committed). */
  describeGroup(groupId: string): Promise<GroupDescription> {
    return describeGroup(this.client, groupId)
  }

  /** Deletes a group without members and its committed offsets. */
  deleteGroup(groupId: string): Promise<void> {
    return deleteGroup(this.client, groupId)
  }

  private metadata(topics: readonly string[] | 'all', timeoutMs = this.client.options.adminTimeoutMs): Promise<broker.MetadataResponse> {
    return this.client.track(retry(() => this.client.refreshMetadata(topics, false), {
      deadlineMs: Date.now() + timeoutMs,
      backoff: this.client.backoff,
      what: 'Metadata',
      signal: this.client.closeSignal,
    }))
  }

  /** Waits until Metadata shows every partition of `names` with a leader (kafkajs' waitForLeaders). */
  private async waitForLeaders(names: readonly string[], deadlineMs: number): Promise<void> {
    await retry(async () => {
      await this.client.refreshMetadata(names, false)
      for (const n of names) {
        const info = this.client.cache.topic(n)
        if (info === undefined) throw kafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code, `waiting for '${n}'`)
        if (info.partitions.length === 0 || info.partitions.some((p) => p.leader < 0)) throw kafkaError(ErrorCode.LEADER_NOT_AVAILABLE.code, `waiting for leaders of '${n}'`)
      }
    }, { deadlineMs, backoff: this.client.backoff, what: 'createTopics: waiting for leaders', signal: this.client.closeSignal })
  }
}
