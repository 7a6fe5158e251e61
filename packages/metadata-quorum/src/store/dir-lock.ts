/**
 * DirLock: an exclusive, process-lifetime lock on a data directory (Kafka's `<log.dir>/.lock`),
 * so two processes never recover, append to and truncate the same log at once (two leaders
 * writing one file corrupt it).
 *
 * Node has no flock, so the lock is a unix-domain socket server bound at `<dir>/.lock`: the
 * kernel lets only one socket be bound to a path, and a live owner answers a connect. When
 * the path exceeds sun_path (~107 bytes), Linux's abstract namespace is used instead
 * (`\0tributary-lock:<sha256 of realpath(dir)>`); the kernel frees an abstract name when its
 * owner dies, so it never goes stale.
 *
 * Acquire: bind. On EADDRINUSE, connect: an answer means a live owner (DirLockError). A
 * refused connect on a path that IS a socket is the leftover of a crashed owner: unlink it
 * and bind once more. Anything else at the path (a regular file...) is refused with an error
 * naming it: it is not ours to delete.
 *
 * Invariants: while acquire()'s DirLock is unreleased, no other DirLock on the same real
 * directory can be acquired. Known gap: two processes that find the same stale socket at the
 * same instant can both unlink-and-bind (the second unlinks the first's fresh socket); this
 * needs a crash plus two simultaneous restarts on one directory.
 */
import { createHash } from 'node:crypto'
import { lstat, realpath, unlink } from 'node:fs/promises'
import { connect, createServer, type Server } from 'node:net'
import { join } from 'node:path'

/** The lock's name inside the directory, as in Kafka. */
export const DIR_LOCK_FILE = '.lock'

/** sun_path is 108 bytes on Linux including the terminating NUL (104 on macOS). */
const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103

/** The directory is locked by a live process, or the lock path holds something else. */
export class DirLockError extends Error {
  constructor(readonly dir: string, message: string) {
    super(message)
    this.name = 'DirLockError'
  }
}

function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code
  return undefined
}

function listen(server: Server, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err)
    server.once('error', onError)
    server.listen(address, () => {
      server.off('error', onError)
      resolve()
    })
  })
}

/** 'live' if something accepts a connection at `address`, otherwise the errno of the refusal. */
function probe(address: string): Promise<'live' | string> {
  return new Promise((resolve) => {
    const socket = connect(address)
    socket.once('connect', () => {
      socket.destroy()
      resolve('live')
    })
    socket.once('error', (err) => {
      socket.destroy()
      resolve(errnoCode(err) ?? err.message)
    })
  })
}

export class DirLock {
  private released: Promise<void> | null = null

  private constructor(
    /** The directory as given (for messages). */
    readonly dir: string,
    /** The socket address: a path, or an abstract name starting with NUL. */
    readonly address: string,
    private readonly server: Server,
  ) {}

  /** Locks `dir` (which must exist) for this process, or throws DirLockError. */
  static async acquire(dir: string): Promise<DirLock> {
    const real = await realpath(dir)
    let address = join(real, DIR_LOCK_FILE)
    if (Buffer.byteLength(address) > MAX_SOCKET_PATH_BYTES) {
      if (process.platform !== 'linux') throw new DirLockError(dir, `${dir}: the lock path ${address} is too long for a unix socket`)
      address = `\0tributary-lock:${createHash('sha256').update(real).digest('hex')}`
    }
    const abstract = address.startsWith('\0')
    for (let attempt = 0; ; attempt++) {
      const server = createServer((socket) => socket.destroy())
      try {
        await listen(server, address)
        // The lock must not keep the process alive; the kernel drops it when the process exits.
        server.unref()
        return new DirLock(dir, address, server)
      } catch (err) {
        server.close()
        if (errnoCode(err) !== 'EADDRINUSE') throw err
      }
      const answer = await probe(address)
      if (answer === 'live' || abstract) throw new DirLockError(dir, `${dir} is in use by another Tributary process`)
      const stat = await lstat(address).catch(() => null)
      if (stat !== null && !stat.isSocket()) {
        throw new DirLockError(dir, `${address} exists and is not a lock socket; remove it if no Tributary process uses ${dir}`)
      }
      if (attempt >= 1) throw new DirLockError(dir, `${dir}: cannot take the lock ${address} (${answer})`)
      // ECONNREFUSED on a socket file: its owner crashed without unlinking it.
      if (stat !== null) await unlink(address).catch((e: unknown) => {
        if (errnoCode(e) !== 'ENOENT') throw e
      })
    }
  }

  /** Releases the lock (libuv unlinks the socket path on close). Idempotent. */
  release(): Promise<void> {
    this.released ??= new Promise((resolve) => this.server.close(() => resolve()))
    return this.released
  }
}
