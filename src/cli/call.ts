import { connect } from '../client/connect.js';
import { formatTarget, parseTarget } from '../client/target.js';
import { RemoteError } from '../errors.js';
import { parseCallArgs, UsageError } from './args.js';

/** `ringwire call TARGET METHOD [PARAMS_JSON]`: prints the result as JSON; an error reply exits 1. */
export async function call(argv: string[]): Promise<number> {
  const { args, protocol, json } = parseCallArgs(argv, 2, 3);
  const [target, method, paramsText] = args as [string, string, string | undefined];
  const params = paramsText === undefined ? undefined : parseParams(paramsText);
  const result = await request(target, method, params, protocol, json);
  process.stdout.write(JSON.stringify(result ?? null) + '\n');
  return 0;
}

/** `ringwire stats TARGET`: calls `rpc.stats` and prints it. */
export async function stats(argv: string[]): Promise<number> {
  const { args, protocol, json } = parseCallArgs(argv, 1, 1);
  try {
    const result = await request(args[0]!, 'rpc.stats', undefined, protocol, json);
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return 0;
  } catch (error) {
    if (error instanceof RemoteError && error.rpcCode === -32601) {
      throw new UsageError('the server does not expose rpc.stats (start it with --expose-stats)');
    }
    throw error;
  }
}

async function request(
  target: string,
  method: string,
  params: unknown,
  protocol: 'jsonrpc' | 'lsp' | 'mcp1',
  json: boolean,
): Promise<unknown> {
  const where = parseTarget(target);
  const client = await connect(where, { protocol, json }).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot connect to ${formatTarget(where)}: ${error.code ?? error.message}`);
  });
  try {
    return await client.call(method, params);
  } finally {
    await client.close();
  }
}

function parseParams(text: string): unknown {
  let params: unknown;
  try {
    params = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`PARAMS_JSON is not valid JSON: ${(error as Error).message}`);
  }
  if (params === null || typeof params !== 'object') throw new UsageError('PARAMS_JSON must be a JSON array or object');
  return params;
}
