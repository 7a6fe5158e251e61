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
  return foldLines(err instanceof Error ? err.message : String(err))
}

/**
 * Newlines folded into spaces, and grpc-js's empty trailer dropped: its connection errors
 * end with "Resolution note: " and nothing after it, which only confuses a reader.
 */
export function foldLines(text: string): string {
  return text
    .replace(/\s*\n\s*/g, ' ')
    .trim()
    .replace(/\.?\s*Resolution note:$/, '')
}
