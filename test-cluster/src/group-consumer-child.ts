/**
 * A consumer-group member in its own process, for the rebalance scenario's crash step
 * (rebalance-scenario.ts): the parent SIGKILLs it, so it stops heartbeating without leaving
 * the group, as a crashed consumer does.
 *
 * It consumes with explicit commits (autoCommit off) and reports on stdout, one line each:
 *   `R <partition> <offset> <dateMs> <value>`  a record handed out by the consumer;
 *   `C <partition>:<offset>,...`               offsets whose commit() the broker acknowledged.
 * Lines are written with writeSync: once in the pipe they reach the parent even after a
 * SIGKILL, so the parent knows every record handed out and every acknowledged commit (a
 * commit acknowledged but not yet reported only makes the duplicate check more lenient).
 *
 * Usage: node group-consumer-child.ts '<json ChildConsumerConfig>'
 */
import { writeSync } from 'node:fs'
import { Client } from '@tributary/client'

export interface ChildConsumerConfig {
  readonly bootstrap: readonly string[]
  readonly groupId: string
  readonly topic: string
  readonly sessionTimeoutMs: number
  readonly heartbeatIntervalMs: number
  readonly commitIntervalMs: number
}

function report(line: string): void {
  writeSync(1, `${line}\n`)
}

async function main(config: ChildConsumerConfig): Promise<void> {
  const client = new Client({ bootstrap: [...config.bootstrap], clientId: 'rebalance-child' })
  const consumer = client.consumer({
    groupId: config.groupId,
    fromBeginning: true,
    autoCommit: false,
    sessionTimeoutMs: config.sessionTimeoutMs,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
  })
  await consumer.subscribe([config.topic])
  let committing = false
  const timer = setInterval(() => {
    if (committing) return
    // The positions commit() will send, taken in the same tick (commit() reads them synchronously).
    const positions = consumer.assignment().flatMap((tp) => {
      const p = consumer.position(tp.topic, tp.partition)
      return p === null ? [] : [`${tp.partition}:${p}`]
    })
    if (positions.length === 0) return
    committing = true
    consumer.commit().then(
      () => report(`C ${positions.join(',')}`),
      () => undefined,
    ).finally(() => {
      committing = false
    })
  }, config.commitIntervalMs)
  try {
    for await (const r of consumer) report(`R ${r.partition} ${r.offset} ${Date.now()} ${r.value?.toString() ?? ''}`)
  } finally {
    clearInterval(timer)
  }
}

const arg = process.argv[2]
if (arg === undefined) throw new Error('usage: group-consumer-child.ts <json config>')
main(JSON.parse(arg) as ChildConsumerConfig).catch((err: unknown) => {
  process.stderr.write(`child consumer failed: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
