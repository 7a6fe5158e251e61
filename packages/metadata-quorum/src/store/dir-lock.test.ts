import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DIR_LOCK_FILE, DirLock, DirLockError } from './dir-lock.js'

let dir = ''
const held: DirLock[] = []

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dir-lock-'))
})
afterEach(async () => {
  for (const lock of held.splice(0)) await lock.release()
  await rm(dir, { recursive: true, force: true })
})

async function acquire(d: string): Promise<DirLock> {
  const lock = await DirLock.acquire(d)
  held.push(lock)
  return lock
}

/** Leaves a socket file behind the way a crashed owner does: bound, then SIGKILLed. */
async function leaveStaleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('bound'))`], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
  expect((await stat(path)).isSocket()).toBe(true)
}

describe('DirLock', () => {
  it('refuses a second lock on the same directory while the first is held, naming the directory', async () => {
    await acquire(dir)
    const second = DirLock.acquire(dir)
    await expect(second).rejects.toBeInstanceOf(DirLockError)
    await expect(second).rejects.toThrow(`${dir} is in use by another Tributary process`)
  })

  it('refuses the same directory reached through another path', async () => {
    await acquire(dir)
    await expect(DirLock.acquire(join(dir, '.', 'sub', '..'))).rejects.toBeInstanceOf(DirLockError)
  }, 10_000)

  it('can be taken again after release, which removes the socket file', async () => {
    const first = await DirLock.acquire(dir)
    await first.release()
    await first.release()
    await expect(stat(join(dir, DIR_LOCK_FILE))).rejects.toThrow(/ENOENT/)
    await acquire(dir)
  })

  it('takes over the socket a crashed owner left behind', async () => {
    await leaveStaleSocket(join(dir, DIR_LOCK_FILE))
    await acquire(dir)
    await expect(DirLock.acquire(dir)).rejects.toThrow(/in use by another Tributary process/)
  })

  it('does not delete a regular file at the lock path, and names it', async () => {
    const path = join(dir, DIR_LOCK_FILE)
    await writeFile(path, 'not a socket')
    await expect(DirLock.acquire(dir)).rejects.toThrow(`${path} exists and is not a lock socket`)
    expect((await stat(path)).isFile()).toBe(true)
  })

  it.runIf(process.platform === 'linux')('falls back to an abstract socket when the path is too long for sun_path', async () => {
    const deep = join(dir, 'd'.repeat(60), 'e'.repeat(60))
    await mkdir(deep, { recursive: true })
    const lock = await acquire(deep)
    expect(lock.address.startsWith('\0tributary-lock:')).toBe(true)
    await expect(DirLock.acquire(deep)).rejects.toThrow(`${deep} is in use by another Tributary process`)
    await lock.release()
    await acquire(deep)
  })
})
