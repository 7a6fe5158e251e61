/**
 * The perf tools' commands against three combined nodes in this process (real gRPC, real
 * disks): produce, consume the same records back through a group, and the end-to-end run.
 * Counts and shapes only: speed is the benchmark's business, never a test's.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startInProcessCluster, type InProcessCluster } from '@tributary/broker'
import { Client } from '@tributary/client'
import type { Command } from 'commander'
import { consumerPerfCommand } from './consumer-perf-command.js'
import { endToEndLatencyCommand } from './end-to-end-latency-command.js'
import type { ConsumerPerfResult, EndToEndResult, ProducerPerfResult } from './perf-result.js'
import { producerPerfCommand, type PerfIo } from './producer-perf-command.js'

let cluster: InProcessCluster | null = null
beforeAll(async () => {
  cluster = await startInProcessCluster(3, { dirPrefix: 'trib-perf-' })
  const client = new Client({ bootstrap: cluster.bootstrap })
  try {
    await client.admin().createTopics([{ name: 'perf', partitions: 3, replicationFactor: 3 }, { name: 'perf-e2e', partitions: 2, replicationFactor: 3 }])
  } finally {
    await client.close()
  }
}, 60_000)
afterAll(async () => {
  await cluster?.close()
})

async function run(make: (io: PerfIo) => Command, args: readonly string[]): Promise<{ out: string[]; err: string[] }> {
  const out: string[] = []
  const err: string[] = []
  await make({ out: (t) => out.push(t), err: (t) => err.push(t) }).exitOverride().parseAsync([...args, '--bootstrap-server', cluster!.bootstrap.join(',')], { from: 'user' })
  return { out, err }
}

describe('perf tools against three in-process nodes', () => {
  it('producer-perf-test sends every record with acks=all; consumer-perf-test reads them back', async () => {
    const produced = await run(producerPerfCommand, ['--topic', 'perf', '--num-records', '3000', '--record-size', '100', '--throughput', '-1', '--records-per-send', '50', '--producer-props', 'acks=all', 'linger.ms=2', 'batch.size=65536', '--json'])
    const p = JSON.parse(produced.out.at(-1)!) as ProducerPerfResult
    expect(p).toMatchObject({ tool: 'producer-perf-test', records: 3000, failed: 0, recordSize: 100, recordsPerSend: 50 })
    expect(p.producerOptions).toMatchObject({ acks: 'all', idempotent: true, lingerMs: 2, batchBytes: 65536 })
    expect(p.latency.count).toBe(3000)
    expect(p.latency.p50Ms).toBeGreaterThan(0)
    expect(p.latency.p99Ms!).toBeLessThanOrEqual(p.latency.maxMs!)

    const consumed = await run(consumerPerfCommand, ['--topic', 'perf', '--messages', '3000', '--group', 'perf-it', '--timeout', '20000', '--json'])
    const c = JSON.parse(consumed.out.at(-1)!) as ConsumerPerfResult
    expect(c).toMatchObject({ tool: 'consumer-perf-test', records: 3000, bytes: 300_000, group: 'perf-it', timedOut: false })
    expect(c.rebalanceMs).toBeLessThanOrEqual(c.elapsedMs)
  })

  it('--bootstrap-server wins over bootstrap.servers in --producer.config and --producer-props (KIP-1147)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trib-perf-config-'))
    try {
      const file = join(dir, 'producer.properties')
      await writeFile(file, 'bootstrap.servers=127.0.0.1:1\nacks=all\n')
      const { out } = await run(producerPerfCommand, ['--topic', 'perf', '--num-records', '20', '--record-size', '10', '--throughput', '-1', '--producer.config', file, '--producer-props', 'bootstrap.servers=127.0.0.1:2', '--json'])
      expect(JSON.parse(out.at(-1)!) as ProducerPerfResult).toMatchObject({ records: 20, failed: 0 })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('producer-perf-test without --json prints Kafka\'s summary line', async () => {
    const { out } = await run(producerPerfCommand, ['--topic', 'perf', '--num-records', '200', '--record-size', '10', '--throughput', '5000', '--producer-props', 'linger.ms=0'])
    expect(out.at(-1)).toMatch(/^200 records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, [\d.]+ ms 50th, [\d.]+ ms 95th, [\d.]+ ms 99th, [\d.]+ ms 99.9th\.$/)
  })

  it('end-to-end-latency reads back every record it sent at the fixed rate', async () => {
    const { out } = await run(endToEndLatencyCommand, ['--topic', 'perf-e2e', '--num-records', '400', '--throughput', '4000', '--producer-props', 'acks=all', 'linger.ms=0', '--json'])
    const e = JSON.parse(out.at(-1)!) as EndToEndResult
    expect(e).toMatchObject({ tool: 'end-to-end-latency', sent: 400, received: 400, timedOut: false })
    expect(e.endToEnd.count).toBe(400)
    expect(e.ack.count).toBe(400)
    // A record is handed to the consumer only after the ISR has it, i.e. after its ack could be sent.
    expect(e.endToEnd.p50Ms!).toBeGreaterThan(0)
  })

  it('an unreachable broker or an unreadable config file fails each tool with one line naming it', async () => {
    const io: PerfIo = { out: () => undefined, err: () => undefined }
    const runAt = (make: (io: PerfIo) => Command, args: readonly string[]): Promise<void> =>
      make(io).exitOverride().parseAsync([...args], { from: 'user' }).then(() => undefined)
    const unreachable = ['--bootstrap-server', '127.0.0.1:1']
    await Promise.all([
      expect(runAt(producerPerfCommand, ['--topic', 'perf', '--num-records', '10', '--record-size', '10', '--throughput', '-1', ...unreachable])).rejects.toThrow(/^could not reach any broker at 127\.0\.0\.1:1 within 5000 ms/),
      expect(runAt(consumerPerfCommand, ['--topic', 'perf', '--messages', '10', ...unreachable])).rejects.toThrow(/^could not reach any broker at 127\.0\.0\.1:1 within 5000 ms/),
      expect(runAt(endToEndLatencyCommand, ['--topic', 'perf', ...unreachable])).rejects.toThrow(/^could not reach any broker at 127\.0\.0\.1:1 within 5000 ms/),
    ])
    await expect(run(producerPerfCommand, ['--topic', 'perf', '--num-records', '10', '--record-size', '10', '--throughput', '-1', '--producer.config', '/nonexistent/p.properties'])).rejects.toThrow(/^cannot read --producer\.config \/nonexistent\/p\.properties: /)
    await expect(run(consumerPerfCommand, ['--topic', 'perf', '--messages', '10', '--consumer.config', '/nonexistent/c.properties'])).rejects.toThrow(/^cannot read --consumer\.config \/nonexistent\/c\.properties: /)
  }, 20_000)

  it('a topic that does not exist fails the run instead of hanging', async () => {
    await expect(run(producerPerfCommand, ['--topic', 'nope', '--num-records', '10', '--record-size', '10', '--throughput', '-1', '--producer-props', 'max.block.ms=1000', 'delivery.timeout.ms=2000', '--json'])).rejects.toThrow()
  })
})
