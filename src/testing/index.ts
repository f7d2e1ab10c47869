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
export { TestConnection, type TestConnectionOptions, testConnection } from './connection.js';
export { type AssertDeepEqual, type MarbleHelpers, type MarbleOptions, runMarbles, testScheduler } from './marbles.js';
export { type ReadableOptions, type ReadableRecord, readable, toReadable } from './readable.js';
export {
  type BytesInput,
  bytes,
  concatBytes,
  dataRecord,
  endRecord,
  hex,
  lettered,
  openRecord,
  slicesOf,
  utf8,
} from './records.js';
export { lspBytes, type Mcp1FrameInput, mcp1Bytes } from './wire.js';
