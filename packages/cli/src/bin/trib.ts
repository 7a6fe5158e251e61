#!/usr/bin/env node
/**
 * The `trib` command: Kafka's tools with `kafka-` replaced by `trib ` (DESIGN.md "Command
 * line"). Every expected failure ends as ONE line on stderr and a non-zero exit, never a
 * stack trace.
 */
import { Command, CommanderError } from 'commander'
import { applyBrokerV8Flags } from '@tributary/broker'
import { CliError, foldLines, oneLine } from '../cli-error.js'
import { clusterCommand } from '../cluster/cluster-command.js'
import { consumerPerfCommand } from '../perf/consumer-perf-command.js'
import { endToEndLatencyCommand } from '../perf/end-to-end-latency-command.js'
import { producerPerfCommand } from '../perf/producer-perf-command.js'
import { metadataQuorumCommand } from '../metadata-quorum/metadata-quorum-command.js'
import { serverCommand } from '../server/server-command.js'
import { tributaryVersion } from '../tools/broker-api-versions-command.js'
import { toolCommands } from '../tools/tool-commands.js'

// Losing the console (the reader of a pipe exited: `trib server | head -1`, a SIGKILLed
// launcher) loses only console lines: without these listeners the EPIPE would be an uncaught
// error that stops a healthy node.
let stdoutOpen = true
let stderrOpen = true
process.stdout.on('error', () => {
  stdoutOpen = false
})
process.stderr.on('error', () => {
  stderrOpen = false
})
const out = (text: string): void => {
  if (stdoutOpen) process.stdout.write(`${text}\n`)
}
const err = (text: string): void => {
  if (stderrOpen) process.stderr.write(`${text}\n`)
}

// Every trib process moves large Buffers (a node's requests and log reads; the perf and
// console tools' produce and fetch payloads), so each gets the brokers' V8 setting: without
// it V8 runs a full GC per 64 MiB of Buffer allocation (v8-tuning.ts; +25-40% records per
// client CPU-second measured for the perf tools, issue 7).
applyBrokerV8Flags()

const program = new Command('trib')
  .description('Tributary: a Kafka-style distributed commit log. Tools take the flags of their kafka-* counterparts.')
  .version(tributaryVersion())
  .showSuggestionAfterError(true)
  .exitOverride()
program.addCommand(serverCommand({ out, err, env: process.env, exit: (code) => process.exit(code) }))
program.addCommand(metadataQuorumCommand(out))
// Options after a tool's name are the tool's: `trib broker-api-versions --version` is Kafka's flag, not trib's.
program.enablePositionalOptions()
for (const tool of toolCommands()) program.addCommand(tool)
program.addCommand(clusterCommand({ out, err, env: process.env, exit: (code) => process.exit(code) }))
program.addCommand(producerPerfCommand({ out, err }))
program.addCommand(consumerPerfCommand({ out, err }))
program.addCommand(endToEndLatencyCommand({ out, err }))
// Commander puts its suggestion on a second line ("(Did you mean --override?)"); every
// failure is ONE line on stderr.
const output = {
  outputError: (text: string, write: (text: string) => void): void => write(`${foldLines(text)}\n`),
  writeErr: (text: string): void => {
    if (stderrOpen) process.stderr.write(text)
  },
  writeOut: (text: string): void => {
    if (stdoutOpen) process.stdout.write(text)
  },
}
program.configureOutput(output)
for (const c of program.commands) {
  c.exitOverride().configureOutput(output)
  for (const sub of c.commands) sub.exitOverride().configureOutput(output)
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
