/**
 * ringwire's pipeline operators. Each takes and gives records that carry their
 * connection (see `PipelineRecord`), so ONE pipeline serves every connection.
 * @module
 */
export { detectProtocol } from './detectProtocol.js';
export { proxyProtocol } from './proxyProtocol.js';
export { jsonFrames } from './jsonFrames.js';
export { mcp1Frames } from './mcp1Frames.js';
export { contentLengthFrames } from './contentLengthFrames.js';
export { decodeJsonRpc } from './decodeJsonRpc.js';
export { encodeJsonRpc } from './encodeJsonRpc.js';
export { decodeMcp1 } from './decodeMcp1.js';
export { encodeMcp1 } from './encodeMcp1.js';
export { route } from './route.js';
export { handle } from './handle.js';
export { backpressure } from './backpressure.js';
export { toAsyncIterable } from './toAsyncIterable.js';
export type * from '../src/records.js';
