/**
 * Argument handling shared by the simulators' command lines (`npm run sim`,
 * `npm run sim:replication`). I/O: it writes usage errors to stderr; the pure simulators
 * never import it.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util'

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const

type SimArgValues<O extends ParseArgsOptionsConfig> =
  ReturnType<typeof parseArgs<{ args: string[]; options: O & typeof HELP_OPTION; strict: true }>>['values']

/**
 * Parses `argv` against `options` plus -h/--help. Returns the values, or the exit code when
 * the command is done: 0 after printing the usage for --help, 2 after a parse error.
 */
export function parseSimArgs<const O extends ParseArgsOptionsConfig>(argv: readonly string[], options: O, usage: string): SimArgValues<O> | number {
  let values: SimArgValues<O>
  try {
    values = parseArgs({ args: [...argv], options: { ...options, ...HELP_OPTION }, strict: true }).values
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n${usage}\n`)
    return 2
  }
  if ('help' in values && values.help === true) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  return values
}

/** The integer `text` (>= min), undefined when absent, or 'bad' after saying why on stderr. */
export function optionalInt(text: string | undefined, name: string, min: number): number | undefined | 'bad' {
  if (text === undefined) return undefined
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < min) {
    process.stderr.write(`${name} must be an integer >= ${min}, got '${text}'\n`)
    return 'bad'
  }
  return n
}

/** Says what was wrong and how to call the command; returns the usage exit code, 2. */
export function usageError(usage: string, message: string): number {
  process.stderr.write(`${message}\n${usage}\n`)
  return 2
}
