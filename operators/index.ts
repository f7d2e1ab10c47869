/**
 * ringwire's pipeline operators. Each takes and gives records that carry their
 * connection (see `PipelineRecord`), so ONE pipeline serves every connection.
 * @module
 */
export { detectProtocol, type DetectProtocolOptions } from './detectProtocol.js';
export { proxyProtocol, type ProxyProtocolOptions } from './proxyProtocol.js';
export { jsonFrames, type JsonFramesOptions } from './jsonFrames.js';
export { mcp1Frames, type Mcp1FramesOptions } from './mcp1Frames.js';
export { contentLengthFrames, type ContentLengthFramesOptions } from './contentLengthFrames.js';
export { decodeJsonRpc, type DecodeJsonRpcOptions } from './decodeJsonRpc.js';
export { encodeJsonRpc } from './encodeJsonRpc.js';
export { decodeMcp1 } from './decodeMcp1.js';
export { encodeMcp1 } from './encodeMcp1.js';
export { route } from './route.js';
export { handle, type HandleOptions } from './handle.js';
export { backpressure, type BackpressureOptions } from './backpressure.js';
export { toAsyncIterable, type ToAsyncIterableOptions } from './toAsyncIterable.js';
export { ConnectionMap, reserveSlot } from './internal/slots.js';
export { newSlots } from '../src/transport/slots.js';
export type * from '../src/records.js';
export type { Connection } from '../src/transport/types.js';
