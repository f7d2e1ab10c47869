/**
 * The `ringwire` command: `serve`, `call`, `stats`. Every failure is one line on
 * stderr and exit code 1, never a stack trace.
 * @module
 */
import { RemoteError, RingwireError } from '../errors.js';
import { UsageError } from './args.js';
import { call, stats } from './call.js';
import { USAGE } from './help.js';
import { serve } from './serve.js';

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
    if (command === '--help' || command === '-h' || command === 'help' || rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(USAGE);
      return 0;
    }
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'call':
        return await call(rest);
      case 'stats':
        return await stats(rest);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)} (see ringwire --help)`);
    }
  } catch (error) {
    process.stderr.write(`ringwire: ${describe(error)}\n`);
    return 1;
  }
}

function describe(error: unknown): string {
  if (error instanceof RemoteError) {
    const data = error.data === undefined ? '' : ` ${JSON.stringify(error.data)}`;
    return `error ${error.rpcCode}: ${error.message}${data}`;
  }
  if (error instanceof UsageError || error instanceof RingwireError) return error.message;
  const e = error as NodeJS.ErrnoException;
  return e?.code ? `${e.code}: ${e.message}` : String(e?.message ?? error);
}
