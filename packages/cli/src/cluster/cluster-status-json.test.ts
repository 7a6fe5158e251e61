import { describe, expect, it } from 'vitest'
import type { quorum } from '@tributary/protocol'
import { planLocalCluster } from './cluster-plan.js'
import type { ClusterState } from './cluster-state.js'
import { clusterStatusJson } from './cluster-status-json.js'
import type { ClusterView } from './cluster-view.js'

const plan = planLocalCluster(3, '/r/data')
const state: ClusterState = {
  version: 1,
  launcherPid: 4000,
  startedAt: '2026-11-24T02:39:38.997Z',
  dataDir: plan.dataDir,
  bootstrapControllers: plan.bootstrapControllers,
  nodes: plan.nodes.map((n) => ({ id: n.id, pid: 4000 + n.id, host: n.host, ports: n.ports, dataDir: n.dataDir, startedAt: '2026-11-24T02:39:39.004Z', overrides: n.overrides, exit: null })),
}
const q: quorum.DescribeQuorumResponse = { errorCode: 0, leaderId: 2, leaderEpoch: 4, highWatermark: 17n, voters: [], observers: [], clusterId: 'c' }
const topics = [{ name: 'orders', topicId: 'x', isInternal: false, partitions: [0, 1].map((partition) => ({ partition, leader: partition + 1, leaderEpoch: 0, replicas: [1, 2, 3], isr: [1, 2, 3], offlineReplicas: [], errorCode: 0 })) }]

describe('clusterStatusJson', () => {
  it('has the documented shape', () => {
    const view: ClusterView = { state, alive: new Set([1, 2, 3]), paused: new Set(), launcherAlive: true, quorum: { kind: 'ok', quorum: q }, metadata: { kind: 'ok', topics, controllerId: 2 } }
    const json = clusterStatusJson(view)
    expect(json).toEqual({
      dataDir: '/r/data',
      launcher: { pid: 4000, up: true },
      activeController: 2,
      healthy: true,
      metadataError: null,
      nodes: [
        { id: 1, roles: ['broker', 'controller'], pid: 4001, up: true, paused: false, brokerAddress: 'localhost:9092', controllerAddress: 'localhost:19092', activeController: false, leads: [{ topic: 'orders', partition: 0 }] },
        { id: 2, roles: ['broker', 'controller'], pid: 4002, up: true, paused: false, brokerAddress: 'localhost:9093', controllerAddress: 'localhost:19093', activeController: true, leads: [{ topic: 'orders', partition: 1 }] },
        { id: 3, roles: ['broker', 'controller'], pid: 4003, up: true, paused: false, brokerAddress: 'localhost:9094', controllerAddress: 'localhost:19094', activeController: false, leads: [] },
      ],
    })
  })

  it('is unhealthy with a node down or paused, and names no dead node as the active controller', () => {
    const view: ClusterView = { state, alive: new Set([1, 3]), paused: new Set([3]), launcherAlive: false, quorum: { kind: 'unavailable', reason: 'x' }, metadata: { kind: 'ok', topics: [], controllerId: 2 } }
    const json = clusterStatusJson(view)
    expect(json).toMatchObject({ activeController: null, healthy: false, launcher: { up: false } })
    expect(json.nodes.map((n) => [n.up, n.paused])).toEqual([[true, false], [false, false], [true, true]])
  })

  it('says why the leaders are missing', () => {
    const view: ClusterView = { state, alive: new Set([1, 2, 3]), paused: new Set(), launcherAlive: true, quorum: { kind: 'ok', quorum: q }, metadata: { kind: 'unavailable', reason: 'no broker answered Metadata: boom' } }
    const json = clusterStatusJson(view)
    expect(json.metadataError).toBe('no broker answered Metadata: boom')
    expect(json.nodes.every((n) => n.leads.length === 0)).toBe(true)
  })
})
