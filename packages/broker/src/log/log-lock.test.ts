import { describe, expect, it } from 'vitest'
import { LogLock, type LockMode } from './log-lock.js'

/** A gate a test opens by hand, to hold a lock for as long as it wants. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = (): void => {}
  const wait = new Promise<void>((resolve) => {
    open = resolve
  })
  return { wait, open }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('LogLock', () => {
  it('lets reads run alongside an append, and appends one at a time', async () => {
    const lock = new LogLock()
    const events: string[] = []
    const held = gate()
    const first = lock.run('append', async () => {
      events.push('append 1 start')
      await held.wait
      events.push('append 1 end')
    })
    const second = lock.run('append', async () => {
      events.push('append 2')
    })
    const read = lock.run('read', async () => {
      events.push('read')
    })
    await tick()
    expect(events).toEqual(['append 1 start', 'read'])
    held.open()
    await Promise.all([first, second, read])
    expect(events).toEqual(['append 1 start', 'read', 'append 1 end', 'append 2'])
    expect(lock.idle()).toBe(true)
  })

  it('runs exclusive alone, after the reads before it and before the reads after it', async () => {
    const lock = new LogLock()
    const events: string[] = []
    const reading = gate()
    const r1 = lock.run('read', async () => {
      await reading.wait
      events.push('read 1')
    })
    const ex = lock.run('exclusive', async () => {
      events.push('exclusive')
    })
    const r2 = lock.run('read', async () => {
      events.push('read 2')
    })
    await tick()
    expect(events).toEqual([])
    reading.open()
    await Promise.all([r1, ex, r2])
    expect(events).toEqual(['read 1', 'exclusive', 'read 2'])
  })

  it('releases the lock when the holder throws', async () => {
    const lock = new LogLock()
    await expect(lock.run('exclusive', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    const modes: LockMode[] = ['read', 'append', 'exclusive']
    for (const mode of modes) await expect(lock.run(mode, async () => mode)).resolves.toBe(mode)
    expect(lock.idle()).toBe(true)
  })
})
