import { describe, expect, it } from 'vitest'
import type { ChaosCluster, NetworkFaults, PartitionView } from './chaos-cluster.ts'
import { FaultInjector } from './fault-injector.ts'
import type { FaultPlan } from './fault-schedule.ts'

/** A cluster of three nodes in memory: node 1 leads partitions 0 and 1, node 2 leads 2; node 3 is the active controller. */
class FakeCluster implements ChaosCluster {
  readonly kind = 'fake'
  readonly ids = [1, 2, 3]
  readonly sessionTimeoutMs = 3000
  readonly networkUnavailableReason: string | null
  readonly network: NetworkFaults | null
  readonly actions: string[] = []
  private readonly down = new Set<number>()
  private readonly paused = new Set<number>()

  constructor(withNetwork: boolean) {
    const act = (what: string) => async (): Promise<void> => {
      this.actions.push(what)
    }
    this.network = withNetwork
      ? { cut: (a, b) => act(`cut ${a} ${b}`)(), heal: (a, b) => act(`heal ${a} ${b}`)(), isolate: (id) => act(`isolate ${id}`)(), healAll: act('healAll') }
      : null
    this.networkUnavailableReason = withNetwork ? null : 'no namespaces here'
  }

  bootstrap(): string[] {
    return []
  }
  dataDir(id: number): string {
    return `/nowhere/${id}`
  }
  isUp(id: number): boolean {
    return !this.down.has(id)
  }
  isPaused(id: number): boolean {
    return this.paused.has(id)
  }
  async kill(id: number, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    this.actions.push(`${signal} ${id}`)
    this.down.add(id)
  }
  async start(id: number): Promise<void> {
    this.actions.push(`start ${id}`)
    this.down.delete(id)
  }
  async pause(id: number): Promise<void> {
    this.actions.push(`pause ${id}`)
    this.paused.add(id)
  }
  async resume(id: number): Promise<void> {
    this.actions.push(`resume ${id}`)
    this.paused.delete(id)
  }
  async activeController(): Promise<number | null> {
    return 3
  }
  async partitions(): Promise<PartitionView[]> {
    return [0, 1, 2].map((partition) => ({ partition, leader: partition < 2 ? 1 : 2, replicas: [1, 2, 3], isr: [1, 2, 3] }))
  }
  async waitWhole(): Promise<void> {}
  async createTopic(): Promise<void> {}
  dump(): string {
    return ''
  }
  async stopAll(): Promise<void> {}
  async close(): Promise<void> {}
}

const plan = (over: Partial<FaultPlan>): FaultPlan => ({ index: 0, kind: 'kill-leader', pick: 0, pick2: 0, holdMs: 1, gapMs: 0, shape: null, ...over })

describe('FaultInjector', () => {
  it('kills the leader of the picked partition and restarts it, naming the partitions it led', async () => {
    const cluster = new FakeCluster(false)
    const result = await new FaultInjector(cluster, 't').run(plan({ kind: 'kill-leader', pick: 0.9 }))
    expect(cluster.actions).toEqual(['SIGKILL 2', 'start 2'])
    expect(result.kind).toBe('done')
    if (result.kind !== 'done') return
    expect(result.event).toMatchObject({ kind: 'kill-leader', target: 'node-2', partitions: ['t-2'] })
    expect(result.event.endMs).toBeGreaterThanOrEqual(result.event.startMs)
  })

  it('kills the active controller; pauses then resumes; restarts cleanly', async () => {
    const cluster = new FakeCluster(false)
    const injector = new FaultInjector(cluster, 't')
    await injector.run(plan({ kind: 'kill-controller' }))
    await injector.run(plan({ kind: 'pause', pick: 0 }))
    const restart = await injector.run(plan({ kind: 'restart', pick: 0.5 }))
    expect(cluster.actions).toEqual(['SIGKILL 3', 'start 3', 'pause 1', 'resume 1', 'SIGTERM 2', 'start 2'])
    expect(restart.kind === 'done' && restart.event.partitions).toEqual(['t-2'])
  })

  it('isolates the active controller and heals; cuts one link; skips partitions without namespaces', async () => {
    const cluster = new FakeCluster(true)
    const injector = new FaultInjector(cluster, 't')
    const isolated = await injector.run(plan({ kind: 'partition', shape: 'isolate-controller' }))
    await injector.run(plan({ kind: 'partition', shape: 'cut-link', pick: 0, pick2: 0 }))
    expect(cluster.actions).toEqual(['isolate 3', 'healAll', 'cut 1 2', 'healAll'])
    expect(isolated.kind === 'done' && isolated.event.kind).toBe('partition:isolate-controller')
    const skipped = await new FaultInjector(new FakeCluster(false), 't').run(plan({ kind: 'partition', shape: 'isolate-node' }))
    expect(skipped).toEqual({ kind: 'skipped', reason: 'no network faults: no namespaces here' })
  })
})
