/**
 * Runs one planned fault (fault-schedule.ts) against a ChaosCluster and undoes it: picks the
 * target from the cluster's state at that moment (with the plan's seeded pick), injects,
 * holds, undoes, and returns the FaultEvent for the history. `startMs` is when the fault was
 * injected and `endMs` when it was undone (the killed node serves again, the paused one got
 * SIGCONT, the links are healed). `partitions` are the workload partitions the target led
 * when the fault began: those whose writers the fault stops (unavailability windows).
 *
 * A fault that finds no target (no leader known, no controller known, no network faults) is
 * skipped with a reason; the runner prints it and moves on.
 */
import { partitionKey, type FaultEvent } from './history.ts'
import { chaosNowMs, sleep } from './chaos-clock.ts'
import type { ChaosCluster, PartitionView } from './chaos-cluster.ts'
import { pickOne, type FaultPlan } from './fault-schedule.ts'

export type FaultResult =
  | { readonly kind: 'done'; readonly event: FaultEvent; readonly description: string }
  | { readonly kind: 'skipped'; readonly reason: string }

export class FaultInjector {
  private readonly cluster: ChaosCluster
  private readonly topic: string

  constructor(cluster: ChaosCluster, topic: string) {
    this.cluster = cluster
    this.topic = topic
  }

  async run(plan: FaultPlan): Promise<FaultResult> {
    const parts = await this.cluster.partitions(this.topic).catch((): PartitionView[] => [])
    const ledBy = (id: number): string[] => parts.filter((p) => p.leader === id).map((p) => partitionKey(this.topic, p.partition))
    const up = this.cluster.ids.filter((id) => this.cluster.isUp(id) && !this.cluster.isPaused(id))
    switch (plan.kind) {
      case 'kill-leader': {
        const led = parts.filter((p) => p.leader >= 0 && up.includes(p.leader))
        const victim = pickOne(led, plan.pick)
        if (victim === null) return { kind: 'skipped', reason: 'no partition has a running leader' }
        return this.killAndRestart(plan, victim.leader, ledBy(victim.leader), `leader of ${partitionKey(this.topic, victim.partition)}`)
      }
      case 'kill-controller': {
        const controller = await this.cluster.activeController().catch(() => null)
        if (controller === null || !up.includes(controller)) return { kind: 'skipped', reason: 'no running active controller known' }
        return this.killAndRestart(plan, controller, ledBy(controller), 'the active controller')
      }
      case 'kill-any': {
        const victim = pickOne(up, plan.pick)
        if (victim === null) return { kind: 'skipped', reason: 'no running node' }
        return this.killAndRestart(plan, victim, ledBy(victim), 'a random node')
      }
      case 'pause': {
        const victim = pickOne(up, plan.pick)
        if (victim === null) return { kind: 'skipped', reason: 'no running node' }
        const partitions = ledBy(victim)
        await this.cluster.pause(victim)
        const startMs = chaosNowMs()
        await sleep(plan.holdMs)
        await this.cluster.resume(victim)
        const endMs = chaosNowMs()
        return { kind: 'done', event: { kind: plan.kind, target: `node-${victim}`, startMs, endMs, partitions }, description: `SIGSTOP node ${victim} for ${plan.holdMs} ms, then SIGCONT${led(partitions)}` }
      }
      case 'restart': {
        const victim = pickOne(up, plan.pick)
        if (victim === null) return { kind: 'skipped', reason: 'no running node' }
        const partitions = ledBy(victim)
        const startMs = chaosNowMs()
        await this.cluster.kill(victim, 'SIGTERM')
        await this.cluster.start(victim)
        const endMs = chaosNowMs()
        return { kind: 'done', event: { kind: plan.kind, target: `node-${victim}`, startMs, endMs, partitions }, description: `SIGTERM node ${victim} (clean), restarted after ${Math.round(endMs - startMs)} ms${led(partitions)}` }
      }
      case 'partition':
        return this.partition(plan, up, ledBy)
    }
  }

  private async killAndRestart(plan: FaultPlan, victim: number, partitions: string[], why: string): Promise<FaultResult> {
    await this.cluster.kill(victim, 'SIGKILL')
    const startMs = chaosNowMs()
    await sleep(plan.holdMs)
    await this.cluster.start(victim)
    const endMs = chaosNowMs()
    return { kind: 'done', event: { kind: plan.kind, target: `node-${victim}`, startMs, endMs, partitions }, description: `SIGKILL node ${victim} (${why}), down ${plan.holdMs} ms, serving again after ${Math.round(endMs - startMs)} ms${led(partitions)}` }
  }

  private async partition(plan: FaultPlan, up: readonly number[], ledBy: (id: number) => string[]): Promise<FaultResult> {
    const network = this.cluster.network
    if (network === null) return { kind: 'skipped', reason: `no network faults: ${this.cluster.networkUnavailableReason ?? 'unknown reason'}` }
    let target: string
    let partitions: string[]
    let what: string
    let inject: () => Promise<void>
    if (plan.shape === 'cut-link') {
      const a = pickOne(up, plan.pick)
      const b = pickOne(up.filter((id) => id !== a), plan.pick2)
      if (a === null || b === null) return { kind: 'skipped', reason: 'fewer than two running nodes' }
      target = `node-${a}<->node-${b}`
      partitions = [...ledBy(a), ...ledBy(b)]
      what = `cut the link node ${a} <-> node ${b}`
      inject = () => network.cut(a, b)
    } else {
      const victim = plan.shape === 'isolate-controller' ? await this.cluster.activeController().catch(() => null) : pickOne(up, plan.pick)
      if (victim === null || !up.includes(victim)) return { kind: 'skipped', reason: plan.shape === 'isolate-controller' ? 'no running active controller known' : 'no running node' }
      target = `node-${victim}`
      partitions = ledBy(victim)
      what = `isolate node ${victim}${plan.shape === 'isolate-controller' ? ' (the active controller; the majority on the other side)' : ''}`
      inject = () => network.isolate(victim)
    }
    await inject()
    const startMs = chaosNowMs()
    await sleep(plan.holdMs)
    await network.healAll()
    const endMs = chaosNowMs()
    return { kind: 'done', event: { kind: `partition:${plan.shape}`, target, startMs, endMs, partitions }, description: `${what} for ${plan.holdMs} ms, then healed${led(partitions)}` }
  }
}

function led(partitions: readonly string[]): string {
  return partitions.length === 0 ? '' : ` (it led ${partitions.join(',')})`
}
