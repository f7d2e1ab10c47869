/**
 * JSON-RPC wire facts (PROTOCOL.md 2.2): the version string, the error codes, and the shared error objects.
 * @module
 */
import type { RpcErrorObject } from '../records.js';

/** The value of every JSON-RPC 2.0 message's `jsonrpc` member. */
export const JSONRPC_VERSION = '2.0';

/** JSON-RPC 2.0 and MCP1 error codes (PROTOCOL.md 2.2 and 3). */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  RequestCancelled: -32800,
} as const;

// Frozen and shared: replies hold these by reference, never copy or mutate them.
export const PARSE_ERROR: RpcErrorObject = Object.freeze({ code: ErrorCode.ParseError, message: 'Parse error' });
export const INVALID_REQUEST: RpcErrorObject = Object.freeze({ code: ErrorCode.InvalidRequest, message: 'Invalid Request' });
export const METHOD_NOT_FOUND: RpcErrorObject = Object.freeze({ code: ErrorCode.MethodNotFound, message: 'Method not found' });
export const INTERNAL_ERROR: RpcErrorObject = Object.freeze({ code: ErrorCode.InternalError, message: 'Internal error' });
export const REQUEST_CANCELLED: RpcErrorObject = Object.freeze({ code: ErrorCode.RequestCancelled, message: 'Request cancelled' });
