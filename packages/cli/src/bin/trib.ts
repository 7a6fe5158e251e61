#!/usr/bin/env node
/**
 * The `trib` command: Kafka's tools with `kafka-` replaced by `trib ` (DESIGN.md "Command
 * line"). Every expected failure ends as ONE line on stderr and a non-zero exit, never a
 * stack trace.
 */
import { readFileSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import { CliError, oneLine } from '../cli-error.js'
import { clusterCommand } from '../cluster/cluster-command.js'
import { metadataQuorumCommand } from '../metadata-quorum/metadata-quorum-command.js'
import { serverCommand } from '../server/server-command.js'

function version(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') return pkg.version
  } catch {
    // Fall through: a missing package.json only loses the version string.
  }
  return 'unknown'
}

const out = (text: string): void => {
  process.stdout.write(`${text}\n`)
}
const err = (text: string): void => {
  process.stderr.write(`${text}\n`)
}

const program = new Command('trib')
  .description('Tributary: a Kafka-style distributed commit log. Tools take the flags of their kafka-* counterparts.')
  .version(version())
  .showSuggestionAfterError(true)
  .exitOverride()
program.addCommand(serverCommand({ out, err, env: process.env, exit: (code) => process.exit(code) }))
program.addCommand(metadataQuorumCommand(out))
program.addCommand(clusterCommand({ out, err, env: process.env, exit: (code) => process.exit(code) }))
for (const c of program.commands) {
  c.exitOverride()
  for (const sub of c.commands) sub.exitOverride()
}

try {
  await program.parseAsync(process.argv)
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander already printed its one-line error (or the help / version text).
    process.exitCode = e.exitCode
  } else {
    const name = program.args[0] ?? ''
    err(`trib${name === '' ? '' : ` ${name}`}: ${oneLine(e)}`)
    process.exitCode = e instanceof CliError ? e.exitCode : 1
  }
}
