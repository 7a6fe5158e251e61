/**
 * `trib cluster status --json`: the machine-readable view of the local cluster that the chaos
 * runner reads. The shape is documented in the README ("trib cluster status --json") and is
 * stable: fields are only ever added. Pure: the view comes in as a value.
 */
import { leadsByNode, type TopicPartitionRef } from './cluster-leads.js'
import { activeControllerOf, brokerAddressOf, controllerAddressOf, rolesOf, type ClusterView } from './cluster-view.js'

export interface NodeStatusJson {
  readonly id: number
  readonly roles: readonly string[]
  readonly pid: number
  readonly up: boolean
  readonly paused: boolean
  readonly brokerAddress: string | null
  readonly controllerAddress: string | null
  readonly activeController: boolean
  readonly leads: readonly TopicPartitionRef[]
}

export interface ClusterStatusJson {
  readonly dataDir: string
  readonly launcher: { readonly pid: number; readonly up: boolean }
  readonly activeController: number | null
  /** Every node up and not paused, and an active controller known. */
  readonly healthy: boolean
  /** Why `leads` are empty: no broker answered Metadata. null when one did. */
  readonly metadataError: string | null
  readonly nodes: readonly NodeStatusJson[]
}

export function clusterStatusJson(view: ClusterView): ClusterStatusJson {
  const active = activeControllerOf(view)
  const leads = view.metadata.kind === 'ok' ? leadsByNode(view.metadata.topics) : new Map<number, TopicPartitionRef[]>()
  const nodes = [...view.state.nodes]
    .sort((a, b) => a.id - b.id)
    .map((n): NodeStatusJson => ({
      id: n.id,
      roles: rolesOf(n),
      pid: n.pid,
      up: view.alive.has(n.id),
      paused: view.paused.has(n.id),
      brokerAddress: brokerAddressOf(n),
      controllerAddress: controllerAddressOf(n),
      activeController: active === n.id,
      leads: leads.get(n.id) ?? [],
    }))
  return {
    dataDir: view.state.dataDir,
    launcher: { pid: view.state.launcherPid, up: view.launcherAlive },
    activeController: active,
    healthy: active !== null && nodes.every((n) => n.up && !n.paused),
    metadataError: view.metadata.kind === 'ok' ? null : view.metadata.reason,
    nodes,
  }
}
