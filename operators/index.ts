/**
 * ringwire's pipeline operators. Each takes and gives records that carry their
 * connection (see `PipelineRecord`), so ONE pipeline serves every connection.
 * @module
 */

export type { Connection } from '../src/core/connection.js';
export type * from '../src/core/records.js';
export { replyError, replyResult } from '../src/core/replies.js';
export { ConnectionMap, newSlots, reserveSlot } from '../src/core/slots.js';
export type { Mcp1Type } from '../src/core/wire/mcp1.js';
export { type BackpressureOptions, backpressure } from './backpressure.js';
export { type ContentLengthFramesOptions, contentLengthFrames } from './contentLengthFrames.js';
export { type DecodeJsonRpcOptions, decodeJsonRpc } from './decodeJsonRpc.js';
export { decodeMcp1 } from './decodeMcp1.js';
export { type DetectProtocolOptions, detectProtocol } from './detectProtocol.js';
export { encodeJsonRpc } from './encodeJsonRpc.js';
export { encodeMcp1 } from './encodeMcp1.js';
export { type HandleOptions, handle, Outgoing } from './handle.js';
export { InFlightCount } from './inFlightCount.js';
export type { EncodeOptions } from './internal/options.js';
export type { Destination } from './internal/outbox.js';
export { type JsonFramesOptions, jsonFrames } from './jsonFrames.js';
export { type Mcp1FramesOptions, mcp1Frames } from './mcp1Frames.js';
export { type ProxyProtocolOptions, proxyProtocol } from './proxyProtocol.js';
export { route } from './route.js';
export { type ToAsyncIterableOptions, toAsyncIterable } from './toAsyncIterable.js';
