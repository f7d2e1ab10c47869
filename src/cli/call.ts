import type { RpcClient } from '../client/client.js';
import { connect } from '../client/connect.js';
import { type ClientTarget, formatTarget, parseTarget } from '../client/target.js';
import { RemoteError } from '../core/errors.js';
import { ErrorCode } from '../core/wire/jsonrpc.js';
import { type CallConfig, parseCallArgs } from './args.js';
import { parseBatch, sendBatch } from './batch.js';
import { ConnectFailedError, NoAnswerError, UsageError } from './errors.js';
import { printNotification } from './notifications.js';

/**
 * `ringwire call TARGET METHOD [PARAMS_JSON]`: prints the result as JSON; an error
 * reply exits 1. With `--notify` prints nothing; with `--batch` one line per answer.
 * Notifications the server sends while the answer is awaited go to stderr, one
 * JSON line each; its requests are answered -32601 (call has no handlers).
 */
export async function call(argv: string[]): Promise<number> {
  const config = parseCallArgs('call', argv);
  if (config.batch !== undefined) return batch(config, config.batch);
  const [target, method, paramsText] = config.args as [string, string, string | undefined];
  const params = paramsText === undefined ? undefined : parseParams(paramsText);
  const where = parseTarget(target);
  if (config.notify) {
    await withClient(where, config, async (client) => client.notify(method, params));
    return 0;
  }
  const result = await withClient(where, config, async (client, signal) => {
    const printing = client.notifications$.subscribe(printNotification);
    try {
      return await client.call(method, params, { signal });
    } finally {
      printing.unsubscribe();
    }
  });
  process.stdout.write(JSON.stringify(result ?? null) + '\n');
  return 0;
}

/** `ringwire stats TARGET`: calls `rpc.stats` and prints it. */
export async function stats(argv: string[]): Promise<number> {
  const config = parseCallArgs('stats', argv);
  try {
    const result = await withClient(parseTarget(config.args[0]!), config, (client, signal) =>
      client.call('rpc.stats', undefined, { signal }),
    );
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return 0;
  } catch (error) {
    if (error instanceof RemoteError && error.code === ErrorCode.MethodNotFound) {
      throw new UsageError('the server does not expose rpc.stats (start it with --expose-stats)');
    }
    throw error;
  }
}

async function batch(config: CallConfig, text: string): Promise<number> {
  if (config.protocol === 'mcp1') throw new UsageError('--batch is JSON-RPC only: MCP1 has no batches (use --protocol jsonrpc or lsp)');
  const members = parseBatch(text);
  const answers = await sendBatch(parseTarget(config.args[0]!), config.protocol, members, config.timeoutMs);
  process.stdout.write(answers.map((answer) => JSON.stringify(answer) + '\n').join(''));
  return answers.some((answer) => 'error' in answer) ? 1 : 0;
}

/**
 * Connects, runs `use`, closes. `--timeout` bounds all of it, connecting
 * included: past it the call is cancelled (`signal`) and the connection closed.
 */
async function withClient<T>(
  where: ClientTarget,
  config: CallConfig,
  use: (client: RpcClient, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const name = formatTarget(where);
  const deadline = Date.now() + config.timeoutMs;
  const client = await connect(where, { protocol: config.protocol, json: config.json, timeoutMs: config.timeoutMs }).catch(
    (error: NodeJS.ErrnoException) => {
      if (Date.now() >= deadline) throw new NoAnswerError(name, config.timeoutMs);
      throw new ConnectFailedError(name, error.code ?? error.message);
    },
  );
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new NoAnswerError(name, config.timeoutMs)), Math.max(0, deadline - Date.now()));
  try {
    return await use(client, controller.signal);
  } finally {
    clearTimeout(timer);
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
