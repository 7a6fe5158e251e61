import { performance } from 'node:perf_hooks'
import { BenchCluster, sleep } from './bench-cluster.ts'
const c = await BenchCluster.start({ size: 1 })
const client = c.freshClient(1, 1000)
const call = async (label: string) => {
  const s = performance.now()
  try { await client.describeQuorum(); console.log(label, 'ok', (performance.now() - s).toFixed(1)) }
  catch (e) { console.log(label, 'FAIL', (performance.now() - s).toFixed(1), e instanceof Error ? e.message.slice(0, 80) : e) }
}
await call('before kill')
await c.kill(1)
for (let i = 0; i < 6; i++) { await call(`down ${i}`); await sleep(50) }
c.spawn(1)
await c.waitForServing(1)
for (const waitMs of [0, 300, 1000, 3000]) {
  await sleep(waitMs)
  await call(`after restart + ${waitMs} ms idle`)
}
client.close()
await c.close()
