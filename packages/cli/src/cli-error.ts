/**
 * CliError: an expected failure of a `trib` command (bad input, nothing answering). The bin
 * prints its message as ONE line on stderr, without a stack trace, and exits with `exitCode`.
 */
export class CliError extends Error {
  readonly exitCode: number

  constructor(message: string, exitCode = 1) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** One line for stderr: the message of any error, newlines folded. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.replace(/\s*\n\s*/g, ' ').trim()
}
