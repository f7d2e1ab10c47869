/**
 * The `ringwire` command: `serve`, `call`, `stats`. Every failure is one line on
 * stderr and exit code 1, never a stack trace.
 * @module
 */
import { RemoteError, RingwireError } from '../core/errors.js';
import { call, stats } from './call.js';
import { UsageError } from './errors.js';
import { wantsHelp } from './flags.js';
import { COMMAND_HELP, USAGE } from './help.js';
import { serve } from './serve.js';
import { packageVersion } from './version.js';

const COMMANDS: Readonly<Record<string, (argv: string[]) => Promise<number>>> = { serve, call, stats };

/**
 * Runs the command line `argv` (without `node` and the script) and resolves the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await main(['call', 'tcp://127.0.0.1:7070', 'ping']);
 * ```
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined) {
      process.stderr.write(USAGE);
      return 1;
    }
    if (command === '--version' || command === '-v') {
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    if (command === '--help' || command === '-h' || command === 'help') {
      const topic = command === 'help' ? rest[0] : undefined;
      if (topic !== undefined && !Object.hasOwn(COMMAND_HELP, topic)) throw unknownCommand(topic);
      process.stdout.write(topic === undefined ? USAGE : COMMAND_HELP[topic]!);
      return 0;
    }
    const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command]! : undefined;
    if (run === undefined)
      throw command.startsWith('-') ? new UsageError(`unknown option ${command} (see ringwire --help)`) : unknownCommand(command);
    if (wantsHelp(rest)) {
      process.stdout.write(COMMAND_HELP[command]!);
      return 0;
    }
    return await run(rest);
  } catch (error) {
    process.stderr.write(`ringwire: ${describe(error)}\n`);
    return 1;
  }
}

function unknownCommand(name: string): UsageError {
  return new UsageError(`unknown command ${JSON.stringify(name)} (see ringwire --help)`);
}

function describe(error: unknown): string {
  if (error instanceof RemoteError) {
    const data = error.data === undefined ? '' : ` ${JSON.stringify(error.data)}`;
    return `error ${error.code}: ${error.message}${data}`;
  }
  if (error instanceof UsageError || error instanceof RingwireError) return error.message;
  const e = error as NodeJS.ErrnoException;
  return e?.code ? `${e.code}: ${e.message}` : String(e?.message ?? error);
}
