/**
 * `ringwire call TARGET --batch JSON`: one JSON-RPC batch array over a plain
 * node:net socket. The client (src/client) sends one request per message, so the
 * batch is written here, and answers are read with the client's own codecs.
 * @module
 */
import { connect as netConnect, type Socket } from 'node:net';
import { LspCodec, NdjsonCodec } from '../client/jsonCodec.js';
import { type ClientTarget, formatTarget } from '../client/target.js';
import { ConnectionClosedError, RemoteError } from '../core/errors.js';
import type { RpcErrorObject } from '../core/records.js';
import { JSONRPC_VERSION, METHOD_NOT_FOUND } from '../core/wire/jsonrpc.js';
import { ConnectFailedError, NoAnswerError, UsageError } from './errors.js';
import { printNotification } from './notifications.js';

/** One member of `--batch`: a call, or with `notify: true` a notification. */
export interface BatchMember {
  readonly method: string;
  readonly params?: unknown;
  readonly notify?: boolean;
}

/** The answer to one call of a batch, as printed. */
export type BatchAnswer = { readonly result: unknown } | { readonly error: RpcErrorObject };

const MEMBER_KEYS = new Set(['method', 'params', 'notify']);

/** Reads `--batch JSON`: a non-empty array of `{method, params?, notify?}`. */
export function parseBatch(text: string): BatchMember[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--batch is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw new UsageError('--batch expects a JSON array of calls, e.g. [{"method":"ping"},{"method":"sum","params":[1,2]}]');
  }
  return value.map((member: unknown, i): BatchMember => {
    const which = `--batch member ${i + 1}`;
    if (member === null || typeof member !== 'object' || Array.isArray(member)) throw new UsageError(`${which} is not an object`);
    const { method, params, notify } = member as Record<string, unknown>;
    const unknown = Object.keys(member).find((key) => !MEMBER_KEYS.has(key));
    if (unknown !== undefined) throw new UsageError(`${which} has "${unknown}": give only method, params and notify (ids are assigned)`);
    if (typeof method !== 'string') throw new UsageError(`${which} needs a "method" string`);
    if (params !== undefined && (params === null || typeof params !== 'object')) {
      throw new UsageError(`${which}: "params" must be a JSON array or object`);
    }
    if (notify !== undefined && typeof notify !== 'boolean') throw new UsageError(`${which}: "notify" must be true or false`);
    return { method, ...(params === undefined ? {} : { params }), ...(notify ? { notify: true } : {}) };
  });
}

/**
 * Sends `members` as one batch and resolves with the answers to its calls in the
 * batch's order (notifications have none). Member i has id i + 1.
 *
 * @throws NoAnswerError past `timeoutMs` (the socket is destroyed); RemoteError
 * for an error that answers the whole batch (id null); ConnectionClosedError when
 * the server closes first.
 */
export function sendBatch(
  where: ClientTarget,
  protocol: 'jsonrpc' | 'lsp',
  members: readonly BatchMember[],
  timeoutMs: number,
): Promise<BatchAnswer[]> {
  const body = JSON.stringify(
    members.map((m, i) => ({
      jsonrpc: JSONRPC_VERSION,
      method: m.method,
      ...(m.params === undefined ? {} : { params: m.params }),
      ...(m.notify ? {} : { id: i + 1 }),
    })),
  );
  const bytes = protocol === 'lsp' ? Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`) : Buffer.from(body + '\n');
  const codec = protocol === 'lsp' ? new LspCodec() : new NdjsonCodec();
  const expected = members.flatMap((m, i) => (m.notify ? [] : [i + 1]));
  const awaited = new Set(expected);
  const answers = new Map<number, BatchAnswer>();
  return new Promise((resolve, reject) => {
    const socket: Socket = 'unix' in where ? netConnect({ path: where.unix }) : netConnect({ host: where.host, port: where.port });
    let connected = false;
    let done = false;
    const finish = (error: Error | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(expected.map((id) => answers.get(id)!));
    };
    const timer = setTimeout(() => finish(new NoAnswerError(formatTarget(where), timeoutMs)), timeoutMs);
    socket.once('connect', () => {
      connected = true;
      // Nothing to wait for: done once the bytes are handed to the kernel.
      if (expected.length === 0) socket.end(bytes, () => finish(undefined));
      else socket.write(bytes);
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const message of codec.read(chunk)) {
          // What the server sends of its own while we wait, as `call` without --batch treats it (it has no handlers).
          if (message.kind === 'notification') printNotification(message);
          else if (message.kind === 'request') socket.write(codec.error(message.id, METHOD_NOT_FOUND));
          else if (message.kind === 'invalid') socket.write(codec.error(message.id, message.error));
          if (message.kind !== 'result' && message.kind !== 'error') continue;
          if (message.id === null && message.kind === 'error') return finish(new RemoteError(message.error));
          if (typeof message.id !== 'number' || !awaited.has(message.id)) continue;
          answers.set(message.id, message.kind === 'error' ? { error: message.error } : { result: message.value ?? null });
        }
      } catch (error) {
        return finish(new ConnectionClosedError(`connection closed: unreadable reply (${(error as Error).message})`));
      }
      if (answers.size === expected.length) finish(undefined);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!connected) finish(new ConnectFailedError(formatTarget(where), error.code ?? error.message));
    });
    socket.on('close', () =>
      finish(new ConnectionClosedError(`connection closed with ${expected.length - answers.size} call(s) unanswered`)),
    );
  });
}
