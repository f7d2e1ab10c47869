import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ListenTarget, TransportKind } from '../transport/types.js';

/** A mistake in the command line: printed as one line, exit 1. */
export class UsageError extends Error {
  readonly code = 'RINGWIRE_USAGE';
}

/** What `ringwire serve` was asked to do. */
export interface ServeConfig {
  readonly listen: ListenTarget[];
  readonly handlersModule?: string;
  readonly workers: number;
  readonly transport: TransportKind | 'auto';
  readonly maxConnections?: number;
  readonly maxMessageBytes?: number;
  readonly socketMode?: number;
  readonly proxyProtocol: boolean;
  readonly statsEverySeconds?: number;
  readonly exposeStats: boolean;
  /** `--allow-uid`: the uids the Unix listeners accept (SO_PEERCRED); undefined: every uid. */
  readonly allowUids?: number[];
}

/** The listeners `ringwire serve` opens when given neither --unix nor --tcp. */
export const DEFAULT_LISTEN: readonly ListenTarget[] = [{ unix: './ringwire.sock' }, { host: '127.0.0.1', port: 7070 }];

/** Reads `ringwire serve` flags. */
export function parseServeArgs(argv: string[]): ServeConfig {
  const { values } = parse(argv, {
    unix: { type: 'string', multiple: true },
    tcp: { type: 'string', multiple: true },
    handlers: { type: 'string' },
    workers: { type: 'string' },
    transport: { type: 'string' },
    'max-connections': { type: 'string' },
    'max-message-bytes': { type: 'string' },
    'socket-mode': { type: 'string' },
    'proxy-protocol': { type: 'boolean' },
    'stats-every': { type: 'string' },
    'expose-stats': { type: 'boolean' },
    'allow-uid': { type: 'string', multiple: true },
  });
  const proxyProtocol = values['proxy-protocol'] ?? false;
  const allowUids = values['allow-uid']?.map(uid);
  const unixTarget = (path: string): ListenTarget => (allowUids ? { unix: resolve(path), allowUids } : { unix: resolve(path) });
  const unix = (values.unix ?? []).map(unixTarget);
  const tcp = (values.tcp ?? []).map((text): ListenTarget => ({ ...tcpTarget(text) }));
  const transport = values.transport ?? 'auto';
  if (transport !== 'native' && transport !== 'net' && transport !== 'auto') {
    throw new UsageError(`--transport must be native or net (got ${transport})`);
  }
  const listen = unix.length + tcp.length > 0 ? [...unix, ...tcp] : DEFAULT_LISTEN.map((t) => ('unix' in t ? unixTarget(t.unix) : t));
  // A uid check exists only on Unix sockets: on TCP alone the flag would protect nothing.
  if (allowUids && !listen.some((t) => 'unix' in t)) {
    throw new UsageError('--allow-uid applies to Unix sockets only; give a --unix listener');
  }
  return {
    listen,
    handlersModule: values.handlers,
    workers: values.workers === undefined ? 0 : count('--workers', values.workers, 0),
    transport,
    maxConnections: optional('--max-connections', values['max-connections']),
    maxMessageBytes: optional('--max-message-bytes', values['max-message-bytes']),
    socketMode: values['socket-mode'] === undefined ? undefined : fileMode(values['socket-mode']),
    proxyProtocol,
    statsEverySeconds: values['stats-every'] === undefined ? undefined : seconds(values['stats-every']),
    exposeStats: values['expose-stats'] ?? false,
    allowUids,
  };
}

/** Reads `ringwire call TARGET METHOD [PARAMS_JSON]` (and `stats TARGET`). */
export function parseCallArgs(
  argv: string[],
  positionals: number,
  max: number,
): { args: string[]; protocol: 'jsonrpc' | 'lsp' | 'mcp1'; json: boolean } {
  const { values, positionals: args } = parse(argv, { protocol: { type: 'string' }, json: { type: 'boolean' } }, true);
  if (args.length < positionals || args.length > max) {
    throw new UsageError(`expected ${positionals === max ? positionals : `${positionals} to ${max}`} arguments, got ${args.length}`);
  }
  const protocol = values.protocol ?? 'jsonrpc';
  if (protocol !== 'jsonrpc' && protocol !== 'lsp' && protocol !== 'mcp1') {
    throw new UsageError(`--protocol must be jsonrpc, lsp or mcp1 (got ${protocol})`);
  }
  return { args, protocol, json: values.json ?? false };
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

function parse<O extends Options>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    // node:util's messages are good; drop its advice about '--', which does not apply
    // here, and keep them on one line (an ambiguous `--flag -1` gets two sentences).
    const message = String((error as Error).message).split(/\.\s+To specify/)[0]!;
    throw new UsageError(message.replace(/\s*\n\s*/g, ' '));
  }
}

function tcpTarget(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(`--tcp expects HOST:PORT, e.g. 127.0.0.1:7070 or [::1]:7070 (got ${text})`);
  }
  return { host: match[1] || match[2] || '127.0.0.1', port };
}

function count(flag: string, text: string, min: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} expects an integer of at least ${min} (got ${text})`);
  return n;
}

/** A uid for `--allow-uid`: 0 to 2^32 - 2 ((uid_t) -1 means "no uid" to the kernel). */
function uid(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n <= 0xfffffffe)) throw new UsageError(`--allow-uid expects a numeric uid such as 1000 (got ${text})`);
  return n;
}

function optional(flag: string, text: string | undefined): number | undefined {
  return text === undefined ? undefined : count(flag, text, 1);
}

function fileMode(text: string): number {
  const digits = text.replace(/^0o?/, '');
  if (!/^[0-7]{1,3}$/.test(digits)) throw new UsageError(`--socket-mode expects an octal file mode such as 600 or 0660 (got ${text})`);
  return parseInt(digits, 8);
}

function seconds(text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0)) throw new UsageError(`--stats-every expects a number of seconds (got ${text})`);
  return n;
}
