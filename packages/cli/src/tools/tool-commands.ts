/**
 * The Kafka tools of DESIGN.md "Command line" as commander commands, all on one ToolIo; the
 * bin adds them to `trib`, and runTool() (tests) runs one the way the bin would.
 */
import { Command, CommanderError } from 'commander'
import { CliError, foldLines, oneLine } from '../cli-error.js'
import { brokerApiVersionsCommand } from './broker-api-versions-command.js'
import { consoleConsumerCommand } from './console-consumer-command.js'
import { consoleProducerCommand } from './console-producer-command.js'
import { consumerGroupsCommand } from './consumer-groups-command.js'
import { getOffsetsCommand } from './get-offsets-command.js'
import { runClassCommand } from './run-class-command.js'
import { processToolIo, type ToolIo } from './tool-io.js'
import { topicsCommand } from './topics-command.js'

export function toolCommands(io: ToolIo = processToolIo()): Command[] {
  return [
    topicsCommand(io),
    getOffsetsCommand(io),
    runClassCommand(io),
    consoleProducerCommand(io),
    consoleConsumerCommand(io),
    consumerGroupsCommand(io),
    brokerApiVersionsCommand(io),
  ]
}

/**
 * Runs `trib <argv...>` for one of the tools with `io`, as the bin does: returns the exit code;
 * every failure is one line on io.stderr (`trib <tool>: message`, or commander's own line).
 */
export async function runTool(argv: readonly string[], io: ToolIo): Promise<number> {
  const program = new Command('trib').exitOverride()
  const output = {
    outputError: (text: string, write: (text: string) => void): void => write(`${foldLines(text)}\n`),
    writeErr: (text: string): void => io.stderr(text),
    writeOut: (text: string): void => io.stdout(text),
  }
  program.configureOutput(output)
  for (const c of toolCommands(io)) program.addCommand(c.exitOverride().configureOutput(output))
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return 0
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode
    io.stderr(`trib ${argv[0] ?? ''}: ${oneLine(e)}\n`)
    return e instanceof CliError ? e.exitCode : 1
  }
}
