import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Limits } from '../server/options.js';
import { loadAddon } from '../transport/addon.js';
import type { IoBackend, ListenTarget, TransportKind } from '../transport/types.js';
import { UsageError } from './errors.js';
import { type FlagSpecs, parseFlags } from './flags.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './logger.js';
import { activatedSockets } from './systemd.js';
import { fileMode, milliseconds, oneOf, seconds, tcpAddress, uid, wholeNumber } from './values.js';

export { UsageError };

/** What `ringwire serve` was asked to do. */
export interface ServeConfig {
  readonly listen: ListenTarget[];
  /** The listeners are sockets systemd passed (LISTEN_FDS), not flags. */
  readonly activated: boolean;
  readonly handlersModule?: string;
  readonly workers: number;
  /** Server processes sharing the listeners (`--processes`; auto: one per core). */
  readonly processes: number;
  readonly transport: TransportKind | 'auto';
  /** `--io-backend`; absent: createServer's default ('auto', or RINGWIRE_IO_BACKEND). */
  readonly ioBackend?: IoBackend;
  /** Only the limits given on the command line; createServer fills in the rest. */
  readonly limits: Partial<Limits>;
  readonly concurrency?: number;
  readonly socketMode?: number;
  readonly proxyProtocol: boolean;
  readonly statsEverySeconds?: number;
  readonly exposeStats: boolean;
  /** `--allow-uid`: the uids the Unix listeners accept (SO_PEERCRED); undefined: every uid. */
  readonly allowUids?: number[];
  /** `--metrics`: where to serve Prometheus metrics (GET /metrics); undefined: nowhere. */
  readonly metrics?: { readonly host: string; readonly port: number };
  readonly logFormat: LogFormat;
  readonly logLevel: LogLevel;
}

/** The listeners `ringwire serve` opens when given neither --unix nor --tcp. */
export const DEFAULT_LISTEN: readonly ListenTarget[] = [{ unix: './ringwire.sock' }, { host: '127.0.0.1', port: 7070 }];

/** The flags of `ringwire serve` (help.ts describes each). */
export const SERVE_FLAGS = {
  unix: { type: 'string', multiple: true, value: 'PATH' },
  tcp: { type: 'string', multiple: true, value: 'HOST:PORT' },
  handlers: { type: 'string', value: 'MODULE' },
  workers: { type: 'string', value: 'N' },
  processes: { type: 'string', value: 'N|auto' },
  transport: { type: 'string', value: 'native|net' },
  'io-backend': { type: 'string', value: 'auto|io_uring|epoll' },
  'max-connections': { type: 'string', value: 'N' },
  'max-message-bytes': { type: 'string', value: 'BYTES' },
  'detect-timeout': { type: 'string', value: 'MS' },
  'message-timeout': { type: 'string', value: 'MS' },
  'drain-timeout': { type: 'string', value: 'MS' },
  'max-in-flight': { type: 'string', value: 'N' },
  'write-high-water': { type: 'string', value: 'BYTES' },
  'max-server-requests': { type: 'string', value: 'N' },
  'server-request-timeout': { type: 'string', value: 'MS' },
  concurrency: { type: 'string', value: 'N' },
  'socket-mode': { type: 'string', value: 'OCTAL' },
  'proxy-protocol': { type: 'boolean' },
  'stats-every': { type: 'string', value: 'S' },
  'expose-stats': { type: 'boolean' },
  'allow-uid': { type: 'string', multiple: true, value: 'UID' },
  metrics: { type: 'string', value: 'HOST:PORT' },
  'log-format': { type: 'string', value: 'pretty|json' },
  'log-level': { type: 'string', value: 'LEVEL' },
} as const satisfies FlagSpecs;

/**
 * Reads `ringwire serve` flags. With no --unix or --tcp, the sockets systemd passed
 * (`env`'s LISTEN_FDS) are the listeners, else {@link DEFAULT_LISTEN}.
 */
export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const { values, positionals } = parseFlags('serve', argv, SERVE_FLAGS);
  if (positionals.length > 0)
    throw new UsageError(`serve takes no arguments, only options (got ${positionals[0]}; see ringwire serve --help)`);
  const allowUids = values['allow-uid']?.map(uid);
  const unixTarget = (path: string): ListenTarget => (allowUids ? { unix: resolve(path), allowUids } : { unix: resolve(path) });
  const unix = (values.unix ?? []).map(unixTarget);
  const tcp = (values.tcp ?? []).map((text): ListenTarget => tcpAddress(text));
  const activated = unix.length + tcp.length > 0 ? undefined : activatedSockets(env, process.pid);
  const listen =
    unix.length + tcp.length > 0
      ? [...unix, ...tcp]
      : activated !== undefined
        ? activated.map((target) => (allowUids && isUnixSocket(target.fd) ? { ...target, allowUids } : target))
        : DEFAULT_LISTEN.map((t) => ('unix' in t ? unixTarget(t.unix) : t));
  // A uid check exists only on Unix sockets: on TCP alone the flag would protect nothing.
  if (allowUids && !listen.some((t) => 'unix' in t || 'allowUids' in t)) {
    throw new UsageError('--allow-uid applies to Unix sockets only; give a --unix listener');
  }
  const given = <T>(text: string | undefined, read: (text: string) => T): T | undefined => (text === undefined ? undefined : read(text));
  const count = (flag: string, min: number, unit?: string) => (text: string) => wholeNumber(flag, text, min, unit);
  const ms = (flag: string) => (text: string) => milliseconds(flag, text);
  return {
    listen,
    activated: activated !== undefined,
    handlersModule: values.handlers,
    workers: given(values.workers, count('--workers', 0)) ?? 0,
    processes: values.processes === 'auto' ? availableParallelism() : (given(values.processes, count('--processes', 1)) ?? 1),
    transport: oneOf('--transport', values.transport ?? 'auto', ['native', 'net', 'auto'] as const),
    ioBackend: given(values['io-backend'], (v) => oneOf('--io-backend', v, ['auto', 'io_uring', 'epoll'] as const)),
    limits: {
      maxConnections: given(values['max-connections'], count('--max-connections', 1)),
      maxMessageBytes: given(values['max-message-bytes'], count('--max-message-bytes', 1, 'bytes')),
      detectTimeoutMs: given(values['detect-timeout'], ms('--detect-timeout')),
      messageTimeoutMs: given(values['message-timeout'], ms('--message-timeout')),
      drainTimeoutMs: given(values['drain-timeout'], ms('--drain-timeout')),
      maxInFlight: given(values['max-in-flight'], count('--max-in-flight', 1)),
      writeHighWaterBytes: given(values['write-high-water'], count('--write-high-water', 1, 'bytes')),
      maxServerRequests: given(values['max-server-requests'], count('--max-server-requests', 1)),
      serverRequestTimeoutMs: given(values['server-request-timeout'], ms('--server-request-timeout')),
    },
    concurrency: given(values.concurrency, count('--concurrency', 1)),
    socketMode: given(values['socket-mode'], fileMode),
    proxyProtocol: values['proxy-protocol'] ?? false,
    statsEverySeconds: given(values['stats-every'], seconds),
    exposeStats: values['expose-stats'] ?? false,
    allowUids,
    metrics: given(values.metrics, (text) => tcpAddress(text, '--metrics')),
    logFormat: oneOf('--log-format', values['log-format'] ?? 'pretty', LOG_FORMATS),
    logLevel: oneOf('--log-level', values['log-level'] ?? 'info', LOG_LEVELS),
  };
}

/** Whether `fd` is a Unix socket (where --allow-uid applies); needs the addon, as --allow-uid does. */
function isUnixSocket(fd: number): boolean {
  const addon = loadAddon();
  if (addon instanceof Error) return false;
  try {
    return addon.sockName(fd)[0] === 'unix';
  } catch {
    return false;
  }
}

/** The protocols `ringwire call` and `stats` speak. */
export type CallProtocol = 'jsonrpc' | 'lsp' | 'mcp1';

/** What `ringwire call` (or `stats`) was asked to do. */
export interface CallConfig {
  readonly args: string[];
  readonly protocol: CallProtocol;
  readonly json: boolean;
  readonly timeoutMs: number;
  readonly notify: boolean;
  /** `--batch`: the batch as given (call.ts reads it). */
  readonly batch?: string;
}

/** `--timeout` when none is given. */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;

export const CALL_FLAGS = {
  protocol: { type: 'string', value: 'jsonrpc|lsp|mcp1' },
  json: { type: 'boolean' },
  timeout: { type: 'string', value: 'MS' },
  notify: { type: 'boolean' },
  batch: { type: 'string', value: 'JSON' },
} as const satisfies FlagSpecs;

export const STATS_FLAGS = {
  protocol: CALL_FLAGS.protocol,
  json: CALL_FLAGS.json,
  timeout: CALL_FLAGS.timeout,
} as const satisfies FlagSpecs;

/**
 * Reads `ringwire call TARGET METHOD [PARAMS_JSON]`, `call TARGET --batch JSON`
 * and `stats TARGET`.
 */
export function parseCallArgs(command: 'call' | 'stats', argv: string[]): CallConfig {
  // STATS_FLAGS is a subset: read with it, --notify and --batch stay undefined for stats.
  const specs = (command === 'stats' ? STATS_FLAGS : CALL_FLAGS) as typeof CALL_FLAGS;
  const { values, positionals: args } = parseFlags(command, argv, specs);
  if (values.notify && values.batch !== undefined) {
    throw new UsageError('--notify and --batch do not go together: mark batch members with "notify": true');
  }
  const [min, max, shape] =
    command === 'stats'
      ? [1, 1, 'TARGET']
      : values.batch !== undefined
        ? [1, 1, 'TARGET --batch JSON']
        : [2, 3, 'TARGET METHOD [PARAMS_JSON]'];
  if (args.length < min || args.length > max) {
    throw new UsageError(
      `expected ${shape} (${args.length} argument${args.length === 1 ? '' : 's'} given; see ringwire ${command} --help)`,
    );
  }
  return {
    args,
    protocol: oneOf('--protocol', values.protocol ?? 'jsonrpc', ['jsonrpc', 'lsp', 'mcp1'] as const),
    json: values.json ?? false,
    timeoutMs: values.timeout === undefined ? DEFAULT_CALL_TIMEOUT_MS : milliseconds('--timeout', values.timeout),
    notify: values.notify ?? false,
    batch: values.batch,
  };
}
