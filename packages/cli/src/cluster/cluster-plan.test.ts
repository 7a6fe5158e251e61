import { describe, expect, it } from 'vitest'
import { planLocalCluster, serverArgs } from './cluster-plan.js'

describe('planLocalCluster', () => {
  it('lays out DESIGN.md\'s local cluster: ids 1..N, controllers on localhost:19091+N, data in node-N', () => {
    const plan = planLocalCluster(3, '/r/data')
    expect(plan.bootstrapControllers).toBe('localhost:19092,localhost:19093,localhost:19094')
    expect(plan.nodes.map((n) => [n.id, n.ports.controller, n.dataDir])).toEqual([
      [1, 19092, '/r/data/node-1'],
      [2, 19093, '/r/data/node-2'],
      [3, 19094, '/r/data/node-3'],
    ])
    expect(plan.nodes[1]!.overrides).toEqual([
      'node.id=2',
      'process.roles=controller',
      'controller.quorum.voters=1@localhost:19092,2@localhost:19093,3@localhost:19094',
      'listeners=CONTROLLER://localhost:19093',
      'log.dirs=/r/data/node-2',
    ])
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
      '--override', 'process.roles=controller',
      '--override', 'controller.quorum.voters=1@localhost:19092',
      '--override', 'listeners=CONTROLLER://localhost:19092',
      '--override', 'log.dirs=/d/node-1',
    ])
  })
})
