/**
 * `ringwire/testing`: test any ringwire pipeline, or your own stage in it, under
 * RxJS's TestScheduler, without sockets. No test runner is assumed.
 *
 * @example
 * ```ts
 * import { detectProtocol, jsonFrames } from 'ringwire/operators';
 * import { endRecord, lettered, readable, runMarbles, slicesOf, testConnection } from 'ringwire/testing';
 *
 * runMarbles(({ cold, expectObservable }) => {
 *   const conn = testConnection();
 *   const source = cold('a-b-c|', lettered([...slicesOf(conn, '{"method":', '"ping"}\n'), endRecord(conn)]));
 *   expectObservable(source.pipe(detectProtocol(), jsonFrames(), readable())).toBe('--f-e|', {
 *     f: { type: 'frame', connection: conn.id, protocol: 'jsonrpc', text: '{"method":"ping"}' },
 *     e: { type: 'end', connection: conn.id },
 *   });
 * });
 * ```
 * @module
 */
export { testConnection, TestConnection, type TestConnectionOptions } from './connection.js';
export {
  bytes,
  concatBytes,
  dataRecord,
  endRecord,
  hex,
  lettered,
  openRecord,
  slicesOf,
  utf8,
  type BytesInput,
} from './records.js';
export { lspBytes, mcp1Bytes, type Mcp1FrameInput } from './wire.js';
export { readable, toReadable, type ReadableOptions, type ReadableRecord } from './readable.js';
export { runMarbles, testScheduler, type AssertDeepEqual, type MarbleHelpers, type MarbleOptions } from './marbles.js';
