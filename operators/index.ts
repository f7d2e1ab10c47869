/**
 * ringwire's pipeline operators. Each takes and gives records that carry their
 * connection (see `PipelineRecord`), so ONE pipeline serves every connection.
 * @module
 */

export type * from '../src/records.js';
export { newSlots } from '../src/transport/slots.js';
export type { Connection } from '../src/transport/types.js';
export { type BackpressureOptions, backpressure } from './backpressure.js';
export { type ContentLengthFramesOptions, contentLengthFrames } from './contentLengthFrames.js';
export { type DecodeJsonRpcOptions, decodeJsonRpc } from './decodeJsonRpc.js';
export { decodeMcp1 } from './decodeMcp1.js';
export { type DetectProtocolOptions, detectProtocol } from './detectProtocol.js';
export { encodeJsonRpc } from './encodeJsonRpc.js';
export { encodeMcp1 } from './encodeMcp1.js';
export { type HandleOptions, handle } from './handle.js';
export type { EncodeOptions } from './internal/options.js';
export { ConnectionMap, reserveSlot } from './internal/slots.js';
export { type JsonFramesOptions, jsonFrames } from './jsonFrames.js';
export { type Mcp1FramesOptions, mcp1Frames } from './mcp1Frames.js';
export { type ProxyProtocolOptions, proxyProtocol } from './proxyProtocol.js';
export { route } from './route.js';
export { type ToAsyncIterableOptions, toAsyncIterable } from './toAsyncIterable.js';
