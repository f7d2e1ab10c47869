/**
 * The fuzzing harness (after undici's test/fuzzing): fast-check against a REAL
 * server, every case on its own connection, its bytes cut at random points, each
 * chunk read by the server on its own before the next is sent. A case's answer is
 * compared with an oracle written from PROTOCOL.md; a bystander client must be
 * answered after every case; the server must never report an error.
 *
 * `FUZZ_SECONDS` (default {@link DEFAULT_FUZZ_SECONDS}) is how long each fuzz FILE
 * fuzzes, shared between the transports it runs on; see test/fuzz/README.md.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { RpcClient } from '../../src/client/client.js';
import { connect } from '../../src/client/connect.js';
import { HandlerError, RpcError } from '../../src/core/errors.js';
import type { HandlerContext } from '../../src/core/records.js';
import { demoHandlers } from '../../src/handlers/demo.js';
import type { RpcServer } from '../../src/server/createServer.js';
import type { ServerOptions } from '../../src/server/options.js';
import type { TransportKind } from '../../src/transport/types.js';
import { startServer, transports } from '../fixtures/harness.js';
import { canonical, type Framing, nextTurn } from '../hardening/input-wire.js';
import { type Address, RawClient } from '../helpers/rawClient.js';
import { tempSocketPath } from '../helpers/socketPath.js';

/** Seconds each fuzz file fuzzes when FUZZ_SECONDS is not set: the folder stays well under 30 s. */
export const DEFAULT_FUZZ_SECONDS = 3;

/** Every fuzz case's server has this limit, so that too-large messages are cheap to make. */
export const FUZZ_LIMIT = 2048;

/** How long one case may take before it counts as a hang. */
export const CASE_TIMEOUT_MS = 5000;

/** ms each property of a file may fuzz: the file's budget shared by `properties` properties per transport. */
export function budgetMs(properties: number): number {
  const seconds = Number(process.env.FUZZ_SECONDS ?? DEFAULT_FUZZ_SECONDS);
  if (!(seconds > 0)) throw new Error(`FUZZ_SECONDS must be a positive number (got ${process.env.FUZZ_SECONDS})`);
  return (seconds * 1000) / (properties * transports().length);
}

/** vitest's timeout for a test that fuzzes for `ms`: the budget, plus room to shrink a failure. */
export function testTimeoutMs(ms: number): number {
  return ms + 30_000;
}

/** A server on a Unix socket AND on TCP, the demo handlers, a bystander client. */
export interface FuzzServer {
  readonly server: RpcServer;
  readonly addresses: readonly Address[];
  readonly bystander: RpcClient;
  readonly errors: unknown[];
}

export async function fuzzServer(transport: TransportKind, options: Partial<ServerOptions> = {}): Promise<FuzzServer> {
  const errors: unknown[] = [];
  const { server } = await startServer(transport, 'unix', {
    listen: [{ unix: tempSocketPath() }, { host: '127.0.0.1', port: 0 }],
    limits: { maxMessageBytes: FUZZ_LIMIT },
    onError: (error) => errors.push(error),
    ...options,
  });
  const addresses = server.listeners.map((l): Address => (l.kind === 'unix' ? { path: l.address } : { host: l.address, port: l.port }));
  const bystander = await connect({ unix: server.listeners[0]!.address });
  return { server, addresses, bystander, errors };
}

/** One case: `bytes` cut at `cuts` (offsets into it), sent on a connection of the socket kind `socket` picks. */
export interface Case {
  readonly bytes: Uint8Array;
  readonly cuts: readonly number[];
  readonly socket: number;
}

/** Random cut points for `bytes`: none, a few, or (for short input) every byte. */
export function cutsFor(length: number): fc.Arbitrary<number[]> {
  return fc
    .oneof(
      { weight: 6, arbitrary: fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, length - 1) }), { maxLength: Math.min(24, length) }) },
      { weight: 1, arbitrary: fc.constant(length <= 400 ? Array.from({ length: Math.max(0, length - 1) }, (_, i) => i + 1) : []) },
    )
    .map((cuts) => cuts.filter((c) => c > 0 && c < length).sort((a, b) => a - b));
}

/** A case over the bytes `stream` makes: the bytes, random cuts, and a socket kind. */
export function caseOf<T extends { bytes: Uint8Array }>(stream: fc.Arbitrary<T>): fc.Arbitrary<T & Case> {
  return stream.chain((s) => fc.tuple(cutsFor(s.bytes.length), fc.nat(1)).map(([cuts, socket]) => ({ ...s, cuts, socket })));
}

/**
 * Sends the case, each chunk read by the server before the next goes out, half-closes,
 * and returns everything the server wrote until it closed. A server that stops
 * reading (it closed the connection after a violation) ends the sending.
 */
export async function exchange(fuzz: FuzzServer, c: Case): Promise<Buffer> {
  const client = await RawClient.connect(fuzz.addresses[c.socket % fuzz.addresses.length]!);
  client.socket.setNoDelay?.(true);
  const edges = [0, ...c.cuts, c.bytes.length];
  let expected = fuzz.server.transport.stats().bytesIn;
  const deadline = Date.now() + CASE_TIMEOUT_MS;
  for (let i = 0; i + 1 < edges.length && !client.ended && !client.closed; i++) {
    const chunk = c.bytes.subarray(edges[i], edges[i + 1]);
    if (
      !(await client.send(chunk).then(
        () => true,
        () => false,
      ))
    )
      break;
    expected += chunk.length;
    while (fuzz.server.transport.stats().bytesIn < expected && !client.ended && !client.closed) {
      if (Date.now() > deadline) throw new Error(`hang: the server stopped reading at chunk ${i} of ${edges.length - 1}`);
      await nextTurn();
    }
  }
  client.end();
  await client.waitForClose(Math.max(100, deadline - Date.now())).catch(() => {
    throw new Error(`hang: the server did not close within ${CASE_TIMEOUT_MS} ms of the end of input`);
  });
  return client.bytes();
}

/** Runs `property` for `ms` (fast-check stops it then; a failure still shrinks and fails). */
export async function fuzzFor<T>(ms: number, arbitrary: fc.Arbitrary<T>, check: (value: T) => Promise<void>): Promise<number> {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      runs++;
      await check(value);
    }),
    { numRuns: Number.MAX_SAFE_INTEGER, plugins: [fc.interruptAfterTimeLimit(ms)] },
  );
  return runs;
}

/**
 * After a property: it ran, the bystander is still answered, and the server
 * reported nothing but the demo `fail` handler's own failures (which it must report).
 */
export async function expectServerWell(fuzz: FuzzServer, runs: number): Promise<void> {
  expect(runs).toBeGreaterThan(0);
  expect(await fuzz.bystander.call('ping')).toBe('pong');
  expect(fuzz.errors.filter((e) => !(e instanceof HandlerError && e.method === 'fail'))).toEqual([]);
  await fuzz.bystander.close();
}

/** Checks one case's answer against the oracle, and that the server still answers a ping. */
export async function expectAnswered(fuzz: FuzzServer, framing: Framing, c: Case, expected: readonly string[]): Promise<void> {
  const output = await exchange(fuzz, c);
  expect(canonical(framing, output)).toEqual(expected);
  expect(await fuzz.bystander.call('ping')).toBe('pong');
}

/** What a demo handler answers for `params`, run here: the fuzzers test framing and decoding, not the handlers. */
export type Outcome = { readonly result: unknown } | { readonly error: { code: number; message: string; data?: unknown } };

const context = {
  signal: new AbortController().signal,
  peer: { family: 'unix', address: '', port: 0 },
  method: '',
  notification: false,
} as HandlerContext;

export function demoOutcome(method: string, params: unknown): Outcome {
  if (!Object.hasOwn(demoHandlers, method) || method === 'sleep') return { error: { code: -32601, message: 'Method not found' } };
  try {
    const value = demoHandlers[method]!(params, context);
    if (value !== null && typeof value === 'object' && 'subscribe' in value) {
      const items: unknown[] = [];
      (value as { subscribe(o: { next(v: unknown): void }): void }).subscribe({ next: (v) => items.push(v) });
      return { result: items };
    }
    return { result: value };
  } catch (error) {
    if (error instanceof RpcError) return { error: error.toJSON() };
    return { error: { code: -32603, message: 'Internal error' } };
  }
}

/**
 * `stream`'s count kept small. The demo handler streams any count it is given and
 * `[1e9]` exhausts the server's memory until V8 aborts the process: a reported bug,
 * not something to fuzz into every run (it would kill the test process).
 */
export function tameStream<T extends { method?: unknown; params?: unknown }>(request: T): T {
  const p = request.params;
  if (request.method !== 'stream' || !Array.isArray(p) || typeof p[0] !== 'number' || !(Math.abs(p[0]) > 8)) return request;
  return { ...request, params: [Math.abs(p[0]) % 8] };
}

/** Demo methods the fuzzers call (sleep is left out: fuzz cases must not wait). */
export const METHODS = ['echo', 'sum', 'ping', 'fail', 'stream', 'nope'] as const;

/** The JSON-RPC response line for `id` and an outcome, members in the server's order. */
export function responseText(id: unknown, outcome: Outcome): string {
  const idText = JSON.stringify(id) ?? 'null';
  if ('error' in outcome) return `{"jsonrpc":"2.0","id":${idText},"error":${JSON.stringify(outcome.error)}}`;
  return `{"jsonrpc":"2.0","id":${idText},"result":${JSON.stringify(outcome.result) ?? 'null'}}`;
}

export const PARSE_ERROR = '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}';
export const INVALID_REQUEST = (id: unknown = null) =>
  `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"error":{"code":-32600,"message":"Invalid Request"}}`;
export const TOO_LARGE = '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Message too large"}}';
