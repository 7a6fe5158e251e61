import { describe, expect, it } from 'vitest'
import { planLocalCluster, portOffsetOf, serverArgs } from './cluster-plan.js'

describe('planLocalCluster', () => {
  it('lays out DESIGN.md\'s local cluster: combined nodes 1..N, brokers on localhost:9091+N, controllers on localhost:19091+N, data in node-N', () => {
    const plan = planLocalCluster(3, '/r/data')
    expect(plan.bootstrapControllers).toBe('localhost:19092,localhost:19093,localhost:19094')
    expect(plan.bootstrapServers).toBe('localhost:9092,localhost:9093,localhost:9094')
    expect(plan.nodes.map((n) => [n.id, n.ports.broker, n.ports.controller, n.dataDir])).toEqual([
      [1, 9092, 19092, '/r/data/node-1'],
      [2, 9093, 19093, '/r/data/node-2'],
      [3, 9094, 19094, '/r/data/node-3'],
    ])
    expect(plan.nodes[1]!.overrides).toEqual([
      'node.id=2',
      'process.roles=broker,controller',
      'controller.quorum.voters=1@localhost:19092,2@localhost:19093,3@localhost:19094',
      'listeners=PLAINTEXT://localhost:9093,CONTROLLER://localhost:19093',
      'log.dirs=/r/data/node-2',
    ])
  })

  it('moves every port by --port-offset, and reads the offset back from a node record', () => {
    const plan = planLocalCluster(2, '/d', 200)
    expect(plan.bootstrapServers).toBe('localhost:9292,localhost:9293')
    expect(plan.bootstrapControllers).toBe('localhost:19292,localhost:19293')
    expect(plan.nodes[1]!.overrides).toContain('controller.quorum.voters=1@localhost:19292,2@localhost:19293')
    expect(plan.nodes.map(portOffsetOf)).toEqual([200, 200])
    expect(planLocalCluster(3, '/d').nodes.map(portOffsetOf)).toEqual([0, 0, 0])
  })

  it('gives every node the same voter set, with one entry per node', () => {
    const plan = planLocalCluster(5, '/d')
    const voters = plan.nodes.map((n) => n.overrides.find((o) => o.startsWith('controller.quorum.voters='))!)
    expect(new Set(voters).size).toBe(1)
    expect(voters[0]!.split('=')[1]!.split(',')).toHaveLength(5)
  })

  it('turns the overrides into trib server arguments', () => {
    const node = planLocalCluster(1, '/d').nodes[0]!
    expect(serverArgs(node)).toEqual([
      'server',
      '--override', 'node.id=1',
      '--override', 'process.roles=broker,controller',
      '--override', 'controller.quorum.voters=1@localhost:19092',
      '--override', 'listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:19092',
      '--override', 'log.dirs=/d/node-1',
      // One node cannot hold three replicas.
      '--override', 'default.replication.factor=1',
    ])
  })
})
