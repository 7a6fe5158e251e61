/**
 * `trib run-class [kafka.tools.GetOffsetShell] --broker-list H:P --topic T [--partitions 0,1]`:
 * the seed writes `kafka-run-class --broker-list localhost:9092 --topic my-topic-name` for
 * "show the partition offsets of a topic", so run-class runs GetOffsetShell, with or without
 * its class name. Any other class is refused with one line.
 */
import { Command } from 'commander'
import { CliError } from '../cli-error.js'
import { addGetOffsetsOptions, runGetOffsets, type GetOffsetsFlags } from './get-offsets-command.js'
import { tidyErrors } from './tool-errors.js'
import type { ToolIo } from './tool-io.js'

/** The class names run-class accepts (Kafka moved GetOffsetShell to org.apache.kafka.tools in 3.5). */
export const RUN_CLASS_NAMES = ['kafka.tools.GetOffsetShell', 'org.apache.kafka.tools.GetOffsetShell', 'GetOffsetShell'] as const

export function checkRunClass(className: string | undefined): void {
  if (className === undefined || (RUN_CLASS_NAMES as readonly string[]).includes(className)) return
  throw new CliError(`run-class runs only kafka.tools.GetOffsetShell (trib get-offsets), not '${className}'`)
}

export function runClassCommand(io: ToolIo): Command {
  const cmd = new Command('run-class')
    .description('kafka-run-class for kafka.tools.GetOffsetShell: prints topic:partition:offset (same as trib get-offsets).')
    .argument('[class]', 'kafka.tools.GetOffsetShell (optional; the only class trib runs)')
    .addHelpText('after', `
Examples (the seed's form):
  trib run-class --broker-list localhost:9092 --topic my-topic
  trib run-class kafka.tools.GetOffsetShell --broker-list localhost:9092 --topic my-topic --partitions 0,1`)
  addGetOffsetsOptions(cmd)
  cmd.action((className: string | undefined, flags: GetOffsetsFlags) => {
    checkRunClass(className)
    return tidyErrors(runGetOffsets(flags, io))
  })
  return cmd
}
