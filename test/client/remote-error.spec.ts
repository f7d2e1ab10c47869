/**
 * RemoteError, what the client rejects with for an error reply, reads like the
 * server's RpcError: `code` is the JSON-RPC code, `toJSON()` is the wire object,
 * and the deprecated `rpcCode` still answers for older callers.
 */
import { describe, expect, it } from 'vitest';
import { RemoteError, RingwireError, RpcError } from '../../src/core/errors.js';
import { ErrorCode } from '../../src/core/wire/jsonrpc.js';

describe('RemoteError', () => {
  it('is an RpcError named RemoteError, with the code, message and data of the reply', () => {
    const error = new RemoteError({ code: ErrorCode.MethodNotFound, message: 'Method not found', data: { method: 'nope' } });
    expect(error).toBeInstanceOf(RpcError);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(RingwireError);
    expect(error.name).toBe('RemoteError');
    expect(error.code).toBe(-32601);
    expect(error.message).toBe('Method not found');
    expect(error.data).toEqual({ method: 'nope' });
    expect(String(error)).toBe('RemoteError: Method not found');
  });

  it('writes the wire object from toJSON, without data when there was none', () => {
    expect(new RemoteError({ code: 7, message: 'seven', data: [1] }).toJSON()).toEqual({ code: 7, message: 'seven', data: [1] });
    const bare = new RemoteError({ code: -32603, message: 'Internal error' });
    expect(bare.toJSON()).toEqual({ code: -32603, message: 'Internal error' });
    expect(bare.data).toBeUndefined();
    expect(JSON.stringify({ error: bare })).toBe('{"error":{"code":-32603,"message":"Internal error"}}');
  });

  it('keeps rpcCode as a read-only alias of code', () => {
    const error = new RemoteError({ code: -32602, message: 'Invalid params' });
    expect(error.rpcCode).toBe(error.code);
    expect(error).toMatchObject({ rpcCode: -32602 });
    expect(() => {
      (error as { rpcCode: number }).rpcCode = 1;
    }).toThrow(TypeError);
  });
});
