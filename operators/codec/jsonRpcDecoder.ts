/**
 * JSON-RPC 2.0 messages to records (PROTOCOL.md 2.2), for decodeJsonRpc() and for
 * jsonFrames() fused with it. A request's envelope is read from its text by hand
 * and only its params go through JSON.parse (codec/envelope.ts: V8 spends most of
 * a small request's JSON.parse building the envelope object); anything the fast
 * path cannot read exactly is parsed whole and checked as the specification says.
 * @module
 */
import type { Connection } from '../../src/core/connection.js';
import type { Batch, PipelineRecord, Protocol, RpcErrorObject, RpcId } from '../../src/core/records.js';
import { INVALID_REQUEST, JSONRPC_VERSION, PARSE_ERROR } from '../../src/core/wire/jsonrpc.js';
import type { Sink } from '../internal/fusion.js';
import { decodeEnvelope, type EnvelopeOut, newEnvelopeOut } from './envelope.js';
import { CompactEnvelope } from './envelopeCompact.js';
import { isRpcId, isStructured } from './jsonrpc.js';
import { decodeUtf8 } from './utf8.js';

// Captured once: members are read only when they are the message's own (never from a
// polluted Object.prototype), at one check per member.
const hasOwn = Object.prototype.hasOwnProperty;

/** One decoder per subscription: it holds what the fast paths fill in and remember. */
export class JsonRpcDecoder {
  private readonly envelope: EnvelopeOut = newEnvelopeOut();
  private readonly compact = new CompactEnvelope();

  /** @param cancelMethod The notification that cancels a request, or null for none. */
  constructor(private readonly cancelMethod: string | null) {}

  /** Decodes one framed message's bytes: malformed UTF-8 is a parse error. */
  decodeBytes(bytes: Uint8Array, connection: Connection, protocol: Protocol, out: Sink): void {
    let text: string;
    try {
      text = decodeUtf8(bytes);
    } catch {
      out.next(errorReply(connection, protocol, null, PARSE_ERROR, undefined));
      return;
    }
    // ASCII when as long as its bytes: then byte and string offsets agree.
    if (text.length === bytes.length) this.decodeAt(bytes, 0, bytes.length, text, 0, connection, protocol, out);
    else if (!this.tryRequest(text, 0, text.length, connection, protocol, out)) this.decodeWhole(text, connection, protocol, out);
  }

  /**
   * Decodes one framed message, `bytes[start, end)`, whose characters `text` holds
   * at the bytes' indexes minus `delta` (ASCII text: the caller makes sure).
   */
  decodeAt(
    bytes: Uint8Array,
    start: number,
    end: number,
    text: string,
    delta: number,
    connection: Connection,
    protocol: Protocol,
    out: Sink,
  ): void {
    if (!this.tryAt(bytes, start, end, text, delta, connection, protocol, out)) {
      this.decodeWhole(text.slice(start - delta, end - delta), connection, protocol, out);
    }
  }

  /**
   * The fast paths on bytes and their ASCII text (as {@link decodeAt} takes them):
   * when the range is exactly one plain request (or notification) whose envelope
   * reads exactly, emits it and returns true; else emits nothing and returns false.
   * Safe on any range, such as a whole NDJSON line that may hold several values (it
   * then returns false).
   */
  tryAt(
    bytes: Uint8Array,
    start: number,
    end: number,
    text: string,
    delta: number,
    connection: Connection,
    protocol: Protocol,
    out: Sink,
  ): boolean {
    const env = this.envelope;
    if (!this.compact.decode(bytes, start, end, text, delta, env) && !decodeEnvelope(text, start - delta, end - delta, env)) return false;
    return this.request(env, connection, protocol, out);
  }

  /** The fast path on text alone (any text, ASCII or not): as {@link tryAt}. */
  tryRequest(text: string, start: number, end: number, connection: Connection, protocol: Protocol, out: Sink): boolean {
    const env = this.envelope;
    return decodeEnvelope(text, start, end, env) && this.request(env, connection, protocol, out);
  }

  /** Emits the request the fast path read; false for a cancel, which the whole path makes a CancelRecord. */
  private request(env: EnvelopeOut, connection: Connection, protocol: Protocol, out: Sink): boolean {
    if (env.notification && env.method === this.cancelMethod) return false;
    out.next({
      type: 'request',
      connection,
      protocol,
      id: env.id,
      notification: env.notification,
      method: env.method,
      params: env.params,
      batch: undefined,
    });
    return true;
  }

  private decodeWhole(text: string, connection: Connection, protocol: Protocol, out: Sink): void {
    let value: unknown;
    try {
      // V8's JSON.parse is iterative: a million nested brackets parse without
      // touching the stack, so no depth pre-check is needed here.
      value = JSON.parse(text);
    } catch {
      out.next(errorReply(connection, protocol, null, PARSE_ERROR, undefined));
      return;
    }
    if (!Array.isArray(value)) {
      this.decodeMessage(value, connection, protocol, undefined, out);
      return;
    }
    if (value.length === 0) {
      out.next(errorReply(connection, protocol, null, INVALID_REQUEST, undefined));
      return;
    }
    // pending starts at the full count, so no member's answer can flush the batch
    // before every member has gone downstream, even when handlers answer synchronously.
    const batch: Batch = { pending: value.length, replies: [] };
    for (const member of value) this.decodeMessage(member, connection, protocol, batch, out);
  }

  /**
   * A client's answer to a server request (PROTOCOL.md 6.1): `"jsonrpc":"2.0"`, no
   * `method`, an id, and exactly one of `result` and a valid `error`. Emits it and
   * returns true; false for anything else, which is then an invalid request.
   */
  private response(
    m: Record<string, unknown>,
    id: RpcId,
    connection: Connection,
    protocol: Protocol,
    batch: Batch | undefined,
    out: Sink,
  ): boolean {
    if (m.jsonrpc !== JSONRPC_VERSION || hasOwn.call(m, 'method')) return false;
    const hasResult = hasOwn.call(m, 'result');
    const hasError = hasOwn.call(m, 'error');
    if (hasResult === hasError) return false;
    if (hasResult) out.next({ type: 'response', connection, protocol, id, result: m.result });
    else {
      const error = errorObjectOf(m.error);
      if (error === undefined) return false;
      out.next({ type: 'response', connection, protocol, id, error });
    }
    // A batch member all the same: account for it, writing nothing.
    if (batch !== undefined) out.next({ type: 'reply', connection, protocol, id: null, kind: 'result', silent: true, batch });
    return true;
  }

  private decodeMessage(message: unknown, connection: Connection, protocol: Protocol, batch: Batch | undefined, out: Sink): void {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      out.next(errorReply(connection, protocol, null, INVALID_REQUEST, batch));
      return;
    }
    const m = message as Record<string, unknown>;
    const hasId = hasOwn.call(m, 'id');
    const id = hasId ? m.id : undefined;
    const idValid = !hasId || isRpcId(id);
    const method = hasOwn.call(m, 'method') ? m.method : undefined;
    const hasParams = hasOwn.call(m, 'params');
    const params = hasParams ? m.params : undefined;
    if (method === undefined && hasId && idValid && this.response(m, id as RpcId, connection, protocol, batch, out)) return;
    if (
      !hasOwn.call(m, 'jsonrpc') ||
      m.jsonrpc !== JSONRPC_VERSION ||
      typeof method !== 'string' ||
      !idValid ||
      (hasParams && !isStructured(params))
    ) {
      // An invalid message is answered even without an id: the specification's own
      // examples answer `{"foo": "boo"}` and `[1]` with id null.
      out.next(errorReply(connection, protocol, hasId && idValid ? (id as RpcId) : null, INVALID_REQUEST, batch));
      return;
    }
    if (!hasId && method === this.cancelMethod && isStructured(params)) {
      const target = hasOwn.call(params, 'id') ? (params as Record<string, unknown>).id : undefined;
      if (typeof target === 'string' || typeof target === 'number') {
        out.next({ type: 'cancel', connection, protocol, id: target });
        // The cancel notification is still a batch member: account for it, writing nothing.
        if (batch !== undefined) {
          out.next({ type: 'reply', connection, protocol, id: null, kind: 'result', silent: true, batch });
        }
        return;
      }
    }
    out.next({
      type: 'request',
      connection,
      protocol,
      id: hasId ? (id as RpcId) : null,
      notification: !hasId,
      method,
      params,
      batch,
    });
  }
}

/** A response's `error` member as an error object: an integer code and a string message (data kept), else undefined. */
function errorObjectOf(value: unknown): RpcErrorObject | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const e = value as Record<string, unknown>;
  const code = hasOwn.call(e, 'code') ? e.code : undefined;
  const message = hasOwn.call(e, 'message') ? e.message : undefined;
  if (typeof code !== 'number' || !Number.isInteger(code) || typeof message !== 'string') return undefined;
  return hasOwn.call(e, 'data') ? { code, message, data: e.data } : { code, message };
}

function errorReply(
  connection: Connection,
  protocol: Protocol,
  id: RpcId,
  error: RpcErrorObject,
  batch: Batch | undefined,
): PipelineRecord {
  return { type: 'reply', connection, protocol, id, kind: 'error', error, batch };
}
