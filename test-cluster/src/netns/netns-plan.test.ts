import { describe, expect, it } from 'vitest'
import {
  allLinks, createPlan, cutPlan, cutRootPlan, destroyPlan, execPrefix, healPlan, healRootPlan, linkKey, NetnsNaming, parseNamespace, parseRootLink, sweepPlan,
  type NetCommand,
} from './netns-plan.ts'

const lines = (plan: readonly NetCommand[]): string[] => plan.map((c) => `${c.mayFail === true ? '?' : ''}${c.argv.join(' ')}`)

describe('NetnsNaming', () => {
  const naming = new NetnsNaming(42)

  it('names namespaces, addresses and links from the run id and node', () => {
    expect(naming.namespace(3)).toBe('trib-42-n3')
    expect(naming.address(3)).toBe('10.213.42.3')
    expect(naming.rootAddress).toBe('10.213.42.254')
    expect(naming.subnet).toBe('10.213.42.0/24')
    expect(naming.rootLink(3)).toBe('trib42r3')
    expect(naming.peerLink(2)).toBe('peer2')
  })

  it('keeps every root-side link name within IFNAMSIZ (15 characters) at the largest ids', () => {
    expect(new NetnsNaming(250).rootLink(64).length).toBeLessThanOrEqual(15)
  })

  it('refuses run ids and nodes outside their ranges', () => {
    expect(() => new NetnsNaming(0)).toThrow(/run id/)
    expect(() => new NetnsNaming(251)).toThrow(/run id/)
    expect(() => naming.address(0)).toThrow(/node 0/)
    expect(() => naming.namespace(65)).toThrow(/node 65/)
  })

  it('parses its own names back and nothing else', () => {
    expect(parseNamespace(naming.namespace(7))).toEqual({ runId: 42, node: 7 })
    expect(parseRootLink(naming.rootLink(7))).toEqual({ runId: 42, node: 7 })
    for (const other of ['trib-probe-123', 'trib-42-n', 'trib-0-n1', 'trib-42-n1x', 'xtrib-42-n1', 'cni-1234', 'trib-300-n1']) expect(parseNamespace(other)).toBeNull()
    for (const other of ['trib42', 'eth0', 'trib42r', 'trib0r1', 'peer2', 'root0']) expect(parseRootLink(other)).toBeNull()
  })

  it('runs a command in a node namespace through ip netns exec', () => {
    expect(execPrefix(naming, 2)).toEqual(['ip', 'netns', 'exec', 'trib-42-n2'])
  })
})

describe('links', () => {
  it('keys a pair the same way in both directions and refuses a self link', () => {
    expect(linkKey(3, 1)).toBe('1-3')
    expect(linkKey(1, 3)).toBe('1-3')
    expect(() => linkKey(2, 2)).toThrow(/itself/)
  })

  it('lists every unordered pair once', () => {
    expect(allLinks(3)).toEqual([[1, 2], [1, 3], [2, 3]])
    expect(allLinks(5)).toHaveLength(10)
    expect(allLinks(1)).toEqual([])
  })
})

describe('createPlan', () => {
  const naming = new NetnsNaming(7)
  const plan = lines(createPlan(naming, 3))

  it('guards the run range in root first, so nothing addressed to it leaves by the default route', () => {
    expect(plan[0]).toBe('ip route add unreachable 10.213.7.0/24')
  })

  it('gives each node a namespace with its /32 address on lo and a root link with /32 routes both ways', () => {
    for (const n of [1, 2, 3]) {
      expect(plan).toContain(`ip netns add trib-7-n${n}`)
      expect(plan).toContain(`ip -n trib-7-n${n} addr add 10.213.7.${n}/32 dev lo`)
      expect(plan).toContain(`ip link add name trib7r${n} type veth peer name root0 netns trib-7-n${n}`)
      expect(plan).toContain(`ip addr add 10.213.7.254/32 dev trib7r${n}`)
      expect(plan).toContain(`ip route add 10.213.7.${n}/32 dev trib7r${n} src 10.213.7.254`)
      expect(plan).toContain(`ip -n trib-7-n${n} route add 10.213.7.254/32 dev root0 src 10.213.7.${n}`)
    }
  })

  it('builds a full mesh: one veth pair per node pair, and each peer reachable only through its own link', () => {
    expect(plan.filter((l) => l.includes('type veth peer name peer'))).toEqual([
      'ip link add name peer2 netns trib-7-n1 type veth peer name peer1 netns trib-7-n2',
      'ip link add name peer3 netns trib-7-n1 type veth peer name peer1 netns trib-7-n3',
      'ip link add name peer3 netns trib-7-n2 type veth peer name peer2 netns trib-7-n3',
    ])
    const routesOfNode1 = plan.filter((l) => l.startsWith('ip -n trib-7-n1 route add'))
    expect(routesOfNode1).toEqual([
      'ip -n trib-7-n1 route add 10.213.7.254/32 dev root0 src 10.213.7.1',
      'ip -n trib-7-n1 route add 10.213.7.2/32 dev peer2 src 10.213.7.1',
      'ip -n trib-7-n1 route add 10.213.7.3/32 dev peer3 src 10.213.7.1',
    ])
    // No default route anywhere: a node has no way around a cut link.
    expect(plan.some((l) => l.includes('default'))).toBe(false)
  })

  it('creates a namespace before anything uses it and never tolerates a failed step', () => {
    const created = new Set<string>()
    for (const c of createPlan(naming, 3)) {
      expect(c.mayFail).toBeUndefined()
      if (c.argv[1] === 'netns' && c.argv[2] === 'add') created.add(c.argv[3] ?? '')
      for (const word of c.argv) if (parseNamespace(word) !== null) expect(created.has(word)).toBe(true)
    }
  })
})

describe('cut, heal and teardown plans', () => {
  const naming = new NetnsNaming(9)

  it('cuts a pair with a blackhole qdisc on both ends and heals by removing it', () => {
    expect(lines(cutPlan(naming, 3, 1))).toEqual([
      'tc -n trib-9-n3 qdisc replace dev peer1 root blackhole',
      'tc -n trib-9-n1 qdisc replace dev peer3 root blackhole',
    ])
    expect(lines(healPlan(naming, 1, 3))).toEqual([
      '?tc -n trib-9-n1 qdisc del dev peer3 root',
      '?tc -n trib-9-n3 qdisc del dev peer1 root',
    ])
    expect(() => cutPlan(naming, 2, 2)).toThrow(/itself/)
  })

  it('cuts and heals a node\'s root link on both ends', () => {
    expect(lines(cutRootPlan(naming, 2))).toEqual([
      'tc qdisc replace dev trib9r2 root blackhole',
      'tc -n trib-9-n2 qdisc replace dev root0 root blackhole',
    ])
    expect(lines(healRootPlan(naming, 2))).toEqual([
      '?tc qdisc del dev trib9r2 root',
      '?tc -n trib-9-n2 qdisc del dev root0 root',
    ])
  })

  it('tears down every namespace, root link and the range guard, tolerating what is already gone', () => {
    expect(lines(destroyPlan(naming, 2))).toEqual([
      '?ip netns del trib-9-n1',
      '?ip link del trib9r1',
      '?ip netns del trib-9-n2',
      '?ip link del trib9r2',
      '?ip route del unreachable 10.213.9.0/24',
    ])
  })

  it('sweeps only the stale runs and leaves live runs and foreign names alone', () => {
    const plan = lines(sweepPlan(new Set([5]), ['trib-5-n1', 'trib-6-n1', 'trib-5-n2', 'other'], ['trib5r1', 'trib6r1', 'eth0']))
    expect(plan).toEqual([
      '?ip netns del trib-5-n1',
      '?ip netns del trib-5-n2',
      '?ip link del trib5r1',
      '?ip route del unreachable 10.213.5.0/24',
    ])
    expect(sweepPlan(new Set(), ['trib-5-n1'], ['trib5r1'])).toEqual([])
  })
})
