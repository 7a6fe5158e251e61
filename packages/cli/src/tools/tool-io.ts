/**
 * ToolIo: everything a Kafka tool touches outside itself (its streams, files, Ctrl-C), so the
 * integration tests call a tool's entry with strings in and strings out instead of spawning
 * it. `processToolIo()` is the real process's; tests build their own.
 */
import { createReadStream } from 'node:fs'

export interface ToolIo {
  /** Writes `text` to stdout as is (add the newline yourself). */
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  /** Standard input (the console producer's lines). */
  readonly stdin: () => NodeJS.ReadableStream
  /** True when stdin is a terminal: the console producer then shows its `>` prompt. */
  readonly stdinIsTty: boolean
  /** A file's bytes as a stream (console-producer's `--property file=F`); errors surface on the stream. */
  readonly openFile: (path: string) => NodeJS.ReadableStream
  /** Runs `stop` on Ctrl-C (SIGINT) or SIGTERM, or when stdout is gone; returns the unsubscribe. */
  readonly onInterrupt: (stop: () => void) => () => void
}

/** stdout then stderr as lines: what the bin prints. */
export function line(write: (text: string) => void, text: string): void {
  write(`${text}\n`)
}

export function processToolIo(): ToolIo {
  let stdoutOpen = true
  let stderrOpen = true
  const stdoutGone = new Set<() => void>()
  // A closed pipe (`trib console-consumer ... | head -1`) stops the tool instead of crashing it.
  process.stdout.on('error', () => {
    stdoutOpen = false
    for (const stop of stdoutGone) stop()
  })
  process.stderr.on('error', () => {
    stderrOpen = false
  })
  return {
    stdout: (text) => {
      if (stdoutOpen) process.stdout.write(text)
    },
    stderr: (text) => {
      if (stderrOpen) process.stderr.write(text)
    },
    stdin: () => process.stdin,
    stdinIsTty: process.stdin.isTTY === true,
    openFile: (path) => createReadStream(path),
    onInterrupt: (stop) => {
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      stdoutGone.add(stop)
      return () => {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        stdoutGone.delete(stop)
      }
    },
  }
}
