/**
 * What `trib cluster status` and the kill commands know about the local cluster: the state
 * file, which recorded processes are alive (and paused), the metadata quorum as the
 * controllers report it (DescribeQuorum), and the partition leaders as a broker reports them
 * (Metadata). Only nodes that run and are not paused are asked, so a paused or dead node
 * never makes the command hang; what cannot be learnt is a value saying why.
 */
import { Client, type TopicInfo } from '@tributary/client'
import { oneLine } from '../cli-error.js'
import { fetchQuorum } from '../metadata-quorum/metadata-quorum-command.js'
import { STATUS_METADATA_TIMEOUT_MS, STATUS_REQUEST_TIMEOUT_MS } from './cluster-defaults.js'
import type { ClusterState, NodeRecord } from './cluster-state.js'
import type { QuorumView } from './cluster-status-format.js'
import { LAUNCHER_PROCESS_ARGS, isProcessAlive, isProcessPaused, nodeProcessArgs } from './process-alive.js'

export type MetadataView =
  | { readonly kind: 'ok'; readonly topics: readonly TopicInfo[]; readonly controllerId: number }
  | { readonly kind: 'unavailable'; readonly reason: string }

export interface ClusterView {
  readonly state: ClusterState
  /** Node ids whose process is alive (paused ones included). */
  readonly alive: ReadonlySet<number>
  /** Node ids whose process is stopped by SIGSTOP. */
  readonly paused: ReadonlySet<number>
  readonly launcherAlive: boolean
  readonly quorum: QuorumView
  readonly metadata: MetadataView
}

/** process.roles from the node's overrides (every local node is combined unless told otherwise). */
export function rolesOf(node: NodeRecord): string[] {
  const entry = node.overrides.find((o) => o.startsWith('process.roles='))
  if (entry === undefined) return ['broker', 'controller']
  return entry
    .slice('process.roles='.length)
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '')
}

export function brokerAddressOf(node: NodeRecord): string | null {
  return node.ports.broker === undefined || !rolesOf(node).includes('broker') ? null : `${node.host}:${node.ports.broker}`
}

export function controllerAddressOf(node: NodeRecord): string | null {
  return rolesOf(node).includes('controller') ? `${node.host}:${node.ports.controller}` : null
}

export function aliveNodes(state: ClusterState): Set<number> {
  return new Set(state.nodes.filter((n) => isProcessAlive(n.pid, nodeProcessArgs(n.id))).map((n) => n.id))
}

async function describeQuorum(addresses: readonly string[]): Promise<QuorumView> {
  if (addresses.length === 0) return { kind: 'unavailable', reason: 'no controller is running' }
  try {
    return { kind: 'ok', quorum: await fetchQuorum(addresses, 'controller') }
  } catch (err) {
    return { kind: 'unavailable', reason: oneLine(err) }
  }
}

/** Every topic's partition leaders, from whichever of `addresses` answers first. */
export async function describeLeaders(addresses: readonly string[]): Promise<MetadataView> {
  if (addresses.length === 0) return { kind: 'unavailable', reason: 'no broker is running' }
  const client = new Client({
    bootstrap: addresses,
    clientId: 'trib-cluster',
    requestTimeoutMs: STATUS_REQUEST_TIMEOUT_MS,
    adminTimeoutMs: STATUS_METADATA_TIMEOUT_MS,
  })
  try {
    const admin = client.admin()
    const topics = await admin.describeTopics()
    const cluster = await admin.describeCluster()
    return { kind: 'ok', topics, controllerId: cluster.controllerId }
  } catch (err) {
    return { kind: 'unavailable', reason: `no broker answered Metadata: ${oneLine(err)}` }
  } finally {
    await client.close().catch(() => undefined)
  }
}

export async function gatherClusterView(state: ClusterState, ask: { readonly quorum: boolean; readonly metadata: boolean }): Promise<ClusterView> {
  const alive = aliveNodes(state)
  const paused = new Set([...alive].filter((id) => isProcessPaused(state.nodes.find((n) => n.id === id)!.pid)))
  const serving = state.nodes.filter((n) => alive.has(n.id) && !paused.has(n.id))
  const controllers = serving.map(controllerAddressOf).filter((a): a is string => a !== null)
  const brokers = serving.map(brokerAddressOf).filter((a): a is string => a !== null)
  const [quorum, metadata] = await Promise.all([
    ask.quorum ? describeQuorum(controllers) : Promise.resolve<QuorumView>({ kind: 'unavailable', reason: 'not asked' }),
    ask.metadata ? describeLeaders(brokers) : Promise.resolve<MetadataView>({ kind: 'unavailable', reason: 'not asked' }),
  ])
  return { state, alive, paused, launcherAlive: isProcessAlive(state.launcherPid, LAUNCHER_PROCESS_ARGS), quorum, metadata }
}

/**
 * The active controller: the Raft leader per DescribeQuorum, else the one a broker names;
 * null if unknown, or if the named node is not running (a broker's view can name a controller
 * that was just killed).
 */
export function activeControllerOf(view: Pick<ClusterView, 'quorum' | 'metadata' | 'alive'>): number | null {
  const named = view.quorum.kind === 'ok' && view.quorum.quorum.leaderId >= 0 ? view.quorum.quorum.leaderId : view.metadata.kind === 'ok' ? view.metadata.controllerId : -1
  return named >= 0 && view.alive.has(named) ? named : null
}
