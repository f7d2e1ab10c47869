import { connect as netConnect, type Socket } from 'node:net';
import { OptionsError } from '../core/errors.js';
import { RpcClient } from './client.js';
import type { ClientCodec } from './codec.js';
import { LspCodec, NdjsonCodec } from './jsonCodec.js';
import { Mcp1Codec } from './mcp1Codec.js';
import { type ClientTarget, parseTarget } from './target.js';

/** The wire protocol a client speaks. */
export type ClientProtocol = 'jsonrpc' | 'lsp' | 'mcp1';

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** Default `'jsonrpc'` (NDJSON). */
  readonly protocol?: ClientProtocol;
  /** MCP1 only: JSON payloads (flag bit 0) instead of MessagePack. */
  readonly json?: boolean;
  /** Give up connecting after this long. Default 10000. */
  readonly timeoutMs?: number;
}

/**
 * Connects to a server over a Unix socket or TCP.
 *
 * @example
 * ```ts
 * const client = await connect('unix:/tmp/app.sock', { protocol: 'mcp1' });
 * console.log(await client.call('echo', ['hi'])); // 'hi'
 * await client.close();
 * ```
 * @param target `unix:/path`, `/path`, `./x.sock`, `tcp://host:port`, `host:port`, or an object.
 * @throws OptionsError for an unreadable target; the socket's error (ECONNREFUSED, ENOENT…) when it cannot connect.
 */
export function connect(target: string | ClientTarget, options: ConnectOptions = {}): Promise<RpcClient> {
  const where = parseTarget(target);
  const codec = codecFor(options);
  return new Promise((resolve, reject) => {
    const socket: Socket = 'unix' in where ? netConnect({ path: where.unix }) : netConnect({ host: where.host, port: where.port });
    socket.setNoDelay?.(true);
    const timer = setTimeout(
      () => socket.destroy(new Error(`connect timed out after ${options.timeoutMs ?? 10_000} ms`)),
      options.timeoutMs ?? 10_000,
    );
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(new RpcClient(socket, codec));
    });
  });
}

function codecFor(options: ConnectOptions): ClientCodec {
  switch (options.protocol ?? 'jsonrpc') {
    case 'jsonrpc':
      return new NdjsonCodec();
    case 'lsp':
      return new LspCodec();
    case 'mcp1':
      return new Mcp1Codec(options.json ?? false);
    default:
      throw new OptionsError(`unknown protocol ${String(options.protocol)}: use jsonrpc, lsp or mcp1`);
  }
}
