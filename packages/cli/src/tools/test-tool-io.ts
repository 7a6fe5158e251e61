/** Test support: a ToolIo over strings, with what the tool wrote and a Ctrl-C button. */
import { Readable } from 'node:stream'
import type { ToolIo } from './tool-io.js'

export interface FakeIo extends ToolIo {
  out(): string
  err(): string
  /** Presses Ctrl-C. */
  interrupt(): void
  /** Resolves once stdout contains `text`. */
  waitForOut(text: string): Promise<void>
}

export function fakeIo(options: { readonly stdin?: string; readonly files?: Readonly<Record<string, string>>; readonly tty?: boolean } = {}): FakeIo {
  let out = ''
  let err = ''
  const stops = new Set<() => void>()
  const waiters: { text: string; resolve: () => void }[] = []
  const check = (): void => {
    for (const w of [...waiters]) if (out.includes(w.text)) {
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve()
    }
  }
  return {
    stdout: (text) => {
      out += text
      check()
    },
    stderr: (text) => {
      err += text
    },
    stdin: () => Readable.from([options.stdin ?? '']),
    stdinIsTty: options.tty === true,
    openFile: (path) => {
      const text = options.files?.[path]
      if (text !== undefined) return Readable.from([text])
      const r = new Readable({ read() {} })
      setImmediate(() => r.destroy(Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' })))
      return r
    },
    onInterrupt: (stop) => {
      stops.add(stop)
      return () => stops.delete(stop)
    },
    out: () => out,
    err: () => err,
    interrupt: () => {
      for (const stop of [...stops]) stop()
    },
    waitForOut: (text) => new Promise<void>((resolve) => {
      waiters.push({ text, resolve })
      check()
    }),
  }
}
