import { describe, expect, it } from 'vitest'
import type { quorum } from '@tributary/protocol'
import { formatReadyBanner, READY_HEADLINE } from './cluster-banner.js'
import { planLocalCluster } from './cluster-plan.js'
import type { ClusterState } from './cluster-state.js'
import { formatClusterStatus } from './cluster-status-format.js'

const plan = planLocalCluster(3, '/r/data')
const state: ClusterState = {
  version: 1,
  launcherPid: 4000,
  startedAt: '2026-11-24T02:39:38.997Z',
  dataDir: plan.dataDir,
  bootstrapControllers: plan.bootstrapControllers,
  nodes: plan.nodes.map((n) => ({
    id: n.id, pid: 4000 + n.id, host: n.host, ports: n.ports, dataDir: n.dataDir, startedAt: '2026-11-24T02:39:39.004Z', overrides: n.overrides,
    exit: n.id === 3 ? { code: 1, signal: null, at: '2026-11-24T02:40:00.000Z' } : null,
  })),
}
const replica = (replicaId: number, logEndOffset: bigint): quorum.ReplicaState => ({ replicaId, logEndOffset, lastFetchTimestamp: 0n, lastCaughtUpTimestamp: 0n })
const q: quorum.DescribeQuorumResponse = { errorCode: 0, leaderId: 2, leaderEpoch: 4, highWatermark: 17n, voters: [replica(1, 17n), replica(2, 17n), replica(3, 12n)], observers: [], clusterId: 'c' }
const display = (p: string): string => p.replace('/r/', './')

describe('formatClusterStatus', () => {
  it('prints one row per node and the leader; healthy when all run', () => {
    const report = formatClusterStatus({ state, alive: new Set([1, 2, 3]), launcherAlive: true, quorum: { kind: 'ok', quorum: q }, display })
    expect(report.text).toBe(
      [
        'Local cluster in ./data, started 2026-11-24T02:39:38.997Z (launcher pid 4000 running)',
        'NODE  PID   PROCESS  BROKER          CONTROLLER       RAFT      LOG END  DATA',
        '1     4001  running  localhost:9092  localhost:19092  follower  17       ./data/node-1',
        '2     4002  running  localhost:9093  localhost:19093  leader    17       ./data/node-2',
        '3     4003  running  localhost:9094  localhost:19094  follower  12       ./data/node-3',
        'Active controller: node 2 (metadata quorum leader in epoch 4, high watermark 17)',
      ].join('\n'),
    )
    expect(report).toMatchObject({ healthy: true, problem: null })
  })

  it('shows how a stopped node ended, and calls the cluster unhealthy', () => {
    const report = formatClusterStatus({ state, alive: new Set([1, 2]), launcherAlive: true, quorum: { kind: 'ok', quorum: q }, display })
    expect(report.text).toContain('3     4003  exited (1)  localhost:9094  localhost:19094  -         -        ./data/node-3')
    expect(report).toMatchObject({ healthy: false, problem: 'not healthy: 2 of 3 nodes running' })
  })

  it('says why the leader is unknown', () => {
    const report = formatClusterStatus({ state, alive: new Set(), launcherAlive: false, quorum: { kind: 'unavailable', reason: 'no node is running' }, display })
    expect(report.text).toContain('(launcher pid 4000 gone)')
    expect(report.text).toContain('1     4001  gone        localhost:9092  localhost:19092')
    expect(report.text.split('\n').at(-1)).toBe('Active controller: unknown (no node is running)')
    expect(report.problem).toBe('not healthy: 0 of 3 nodes running, no leader')
  })
})

describe('formatClusterStatus with leaders and pauses', () => {
  it('counts and lists the partitions each node leads, and marks a paused node', () => {
    const byNode = new Map([
      [1, [{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 2 }]],
      [2, [{ topic: 'orders', partition: 1 }]],
    ])
    const report = formatClusterStatus({ state, alive: new Set([1, 2, 3]), paused: new Set([2]), launcherAlive: true, quorum: { kind: 'ok', quorum: q }, leads: { kind: 'ok', byNode }, display })
    const lines = report.text.split('\n')
    expect(lines[1]).toBe('NODE  PID   PROCESS  BROKER          CONTROLLER       RAFT      LOG END  LEADS  DATA')
    expect(lines[2]).toBe('1     4001  running  localhost:9092  localhost:19092  follower  17       2      ./data/node-1')
    expect(lines[3]).toBe('2     4002  paused   localhost:9093  localhost:19093  leader    17       1      ./data/node-2')
    expect(lines.slice(-3)).toEqual(['Partition leaders:', '  node 1: orders-0, orders-2', '  node 2: orders-1'])
    expect(report).toMatchObject({ healthy: false, problem: 'not healthy: 1 paused' })
  })

  it('says why the leaders are unknown', () => {
    const report = formatClusterStatus({ state, alive: new Set([1, 2]), launcherAlive: true, quorum: { kind: 'ok', quorum: q }, leads: { kind: 'unavailable', reason: 'no broker is running' }, display })
    expect(report.text).toContain('3     4003  exited (1)  localhost:9094  localhost:19094  -         -        ?      ./data/node-3')
    expect(report.text.split('\n').at(-1)).toBe('Partition leaders: unknown (no broker is running)')
  })
})

describe('formatReadyBanner', () => {
  it('names the bootstrap address and a first command', () => {
    const banner = formatReadyBanner({
      nodeCount: 3, leaderId: 2, epoch: 1, bootstrapControllers: plan.bootstrapControllers, bootstrapServers: plan.bootstrapServers,
      firstController: 'localhost:19092', dataDir: './data', statusCommand: 'npx trib cluster status',
    })
    expect(banner).toContain(`${READY_HEADLINE}: 3 nodes (broker + controller), controller leader node 2 in epoch 1`)
    expect(banner).toContain('bootstrap server:     localhost:9092 (brokers: localhost:9092,localhost:9093,localhost:9094)')
    expect(banner).toContain('controller bootstrap: localhost:19092,localhost:19093,localhost:19094')
    expect(banner).toContain('npx trib metadata-quorum --bootstrap-controller localhost:19092 describe --status')
    expect(banner).toContain('try:                  npx trib topics --create --topic my-topic --partitions 3 --replication-factor 3')
    expect(banner).toContain('chaos:                npx trib cluster kill-leader, then npx trib cluster restart N')
  })

  it('names the bootstrap server in the commands when the ports are not the defaults', () => {
    const moved = planLocalCluster(1, '/r/data', 200)
    const banner = formatReadyBanner({
      nodeCount: 1, leaderId: 1, epoch: 1, bootstrapControllers: moved.bootstrapControllers, bootstrapServers: moved.bootstrapServers,
      firstController: 'localhost:19292', dataDir: '/r/data', statusCommand: 'npx trib cluster status --data-dir /r/data',
    })
    expect(banner).toContain('npx trib topics --bootstrap-server localhost:9292 --create --topic my-topic --partitions 3 --replication-factor 1')
    expect(banner).toContain('npx trib cluster kill-leader --data-dir /r/data, then npx trib cluster restart N --data-dir /r/data')
  })
})
