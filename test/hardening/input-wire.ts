/**
 * Wire helpers shared by the hardening and fuzz specs: read what a server wrote in
 * any framing into comparable messages, and feed bytes to many connections so that
 * the server is known to have READ each chunk before the next one is sent (the
 * transport's `bytesIn` counter says so), which makes "split at offset k" real
 * rather than hoped for.
 */
import { appendFileSync } from 'node:fs';
import { pack } from 'msgpackr';
import type { RpcServer } from '../../src/server/createServer.js';
import { lspBytes, mcp1Bytes } from '../../src/testing/wire.js';
import { notification, parseFrames, request } from '../fixtures/mcp1.js';
import type { RawClient } from '../helpers/rawClient.js';

/** The framings a conversation can use. */
export type Framing = 'ndjson' | 'concatenated' | 'lsp' | 'mcp1';
export const FRAMINGS: readonly Framing[] = ['ndjson', 'concatenated', 'lsp', 'mcp1'];

/** The exact line PROTOCOL.md section 1 prescribes for unknown first bytes. */
export const UNRECOGNIZED = '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Unrecognized protocol"}}\n';
/** PROTOCOL.md 2.1: the line written before closing on an oversized JSON message. */
export const TOO_LARGE = '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Message too large"}}\n';
export const PARSE_ERROR_LINE = '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}';

/** Splits LSP output into bodies; throws on anything that is not `Content-Length: N\r\n\r\n` framing. */
export function lspBodies(bytes: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    const headEnd = bytes.indexOf('\r\n\r\n', at, 'latin1');
    if (headEnd < 0) throw new Error(`incomplete LSP header at ${at}: ${JSON.stringify(bytes.subarray(at).toString('latin1'))}`);
    const head = bytes.toString('latin1', at, headEnd);
    const match = /^Content-Length: (\d+)$/.exec(head);
    if (!match) throw new Error(`unexpected LSP header ${JSON.stringify(head)}`);
    const start = headEnd + 4;
    const end = start + Number(match[1]);
    if (end > bytes.length) throw new Error(`LSP body cut short at ${bytes.length} of ${end}`);
    out.push(bytes.toString('utf8', start, end));
    at = end;
  }
  return out;
}

/**
 * Everything the server wrote, as messages in a canonical order: responses may
 * come in any order (PROTOCOL.md 2.2 and 3), so they are grouped by id, keeping
 * the order within one id (stream items, then the final response).
 */
export function canonical(framing: Framing, bytes: Buffer): string[] {
  if (framing === 'mcp1') {
    const frames = parseFrames(bytes);
    const used = frames.reduce((n, f) => n + 16 + f.length, 0);
    if (used !== bytes.length) throw new Error(`${bytes.length - used} bytes after the last whole MCP1 frame`);
    return stableSortById(frames.map((f) => ({ key: String(f.id), text: JSON.stringify([f.type, f.id, f.flags, f.value]) })));
  }
  let texts: string[];
  if (framing === 'lsp') texts = lspBodies(bytes);
  else {
    const text = bytes.toString('utf8');
    if (text !== '' && !text.endsWith('\n')) throw new Error(`output does not end with a newline: ${JSON.stringify(text)}`);
    texts = text.split('\n').slice(0, -1);
  }
  return stableSortById(
    texts.map((t) => {
      const value = JSON.parse(t) as unknown;
      // A batch answer: its members may be in any order too.
      const normal = Array.isArray(value) ? value.map((v) => JSON.stringify(v)).sort() : value;
      const key = Array.isArray(value) ? `batch:${String(normal)}` : JSON.stringify((value as { id?: unknown }).id);
      return { key, text: JSON.stringify(normal) };
    }),
  );
}

function stableSortById(items: Array<{ key: string; text: string }>): string[] {
  return items
    .map((item, i) => ({ ...item, i }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i))
    .map((item) => item.text);
}

/** Resolves on the next turn of the event loop (after I/O callbacks). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Waits until the server's transport has read `total` bytes in all; fails after `timeoutMs`. */
export async function untilRead(server: RpcServer, total: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (server.transport.stats().bytesIn < total) {
    if (Date.now() > deadline) {
      throw new Error(`server read ${server.transport.stats().bytesIn} bytes, expected ${total}`);
    }
    await nextTurn();
  }
}

/**
 * Sends `chunks[i][step]` to `clients[i]` step by step. Before each step it waits
 * until the server has read every byte sent so far, so every chunk reaches the
 * server as a read of its own (a chunk may still be split further by the kernel,
 * never merged with its neighbours). Clients with fewer chunks sit the step out.
 */
export async function feedInLockstep(
  server: RpcServer,
  clients: readonly RawClient[],
  chunks: readonly (readonly Uint8Array[])[],
): Promise<void> {
  let expected = server.transport.stats().bytesIn;
  const steps = Math.max(...chunks.map((c) => c.length));
  for (let step = 0; step < steps; step++) {
    const writes: Array<Promise<void>> = [];
    clients.forEach((client, i) => {
      const chunk = chunks[i]![step];
      if (chunk === undefined || chunk.length === 0) return;
      expected += chunk.length;
      writes.push(client.send(chunk));
    });
    await Promise.all(writes);
    await untilRead(server, expected);
  }
}

/** `bytes` cut at `offset` into two chunks. */
export function splitAt(bytes: Uint8Array, offset: number): Uint8Array[] {
  return [bytes.subarray(0, offset), bytes.subarray(offset)];
}

/** `bytes` one byte per chunk. */
export function byteByByte(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

/** A realistic exchange in one framing: what a client sends, and what the server must answer. */
export interface Conversation {
  readonly input: Buffer;
  /** {@link canonical} of the answer PROTOCOL.md prescribes. */
  readonly expected: string[];
}

const lsp = (body: string, headers: Record<string, string> = {}): Buffer => Buffer.from(lspBytes(body, headers));

/**
 * One conversation per framing, about 200 bytes each, with what makes splitting
 * hard: multi-byte UTF-8, brackets and escaped quotes inside strings, a batch, a
 * notification, an error, a parse error to recover from, an MCP1 stream.
 */
export const CONVERSATIONS: Readonly<Record<Framing, Conversation>> = {
  ndjson: {
    input: Buffer.from(
      '{"jsonrpc":"2.0","id":1,"method":"echo","params":["hé ✓ {[\\"]}"]}\n' +
        '{"jsonrpc":"2.0","method":"ping"}\n' +
        '{"jsonrpc":"2.0","id":9,"method":"echo","params":[tru]}\n' +
        '[{"jsonrpc":"2.0","id":"b}","method":"sum","params":[1,2]},{"jsonrpc":"2.0","id":3,"method":"nope"}]\n',
    ),
    expected: canonical(
      'ndjson',
      Buffer.from(
        '{"jsonrpc":"2.0","id":1,"result":"hé ✓ {[\\"]}"}\n' +
          `${PARSE_ERROR_LINE}\n` +
          '[{"jsonrpc":"2.0","id":"b}","result":3},{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Method not found"}}]\n',
      ),
    ),
  },
  concatenated: {
    input: Buffer.from(
      '  {"jsonrpc":"2.0","id":1,"method":"ping"}{"jsonrpc":"2.0","id":2,"method":"echo","params":{"a":"}\\u00e9"}}' +
        '\t[{"jsonrpc":"2.0","id":3,"method":"sum","params":[40,2]}]\r\n{"jsonrpc":"2.0","id":4,"method":"fail"}',
    ),
    expected: canonical(
      'concatenated',
      Buffer.from(
        '{"jsonrpc":"2.0","id":1,"result":"pong"}\n{"jsonrpc":"2.0","id":2,"result":{"a":"}é"}}\n' +
          '[{"jsonrpc":"2.0","id":3,"result":42}]\n{"jsonrpc":"2.0","id":4,"error":{"code":-32603,"message":"Internal error"}}\n',
      ),
    ),
  },
  lsp: {
    input: Buffer.concat([
      lsp('{"jsonrpc":"2.0","id":1,"method":"echo","params":["ü"]}', { 'Content-Type': 'application/vscode-jsonrpc; charset=utf-8' }),
      Buffer.from('content-length: 33\r\n\r\n{"jsonrpc":"2.0","method":"ping"}'),
      lsp('{"jsonrpc":"2.0","id":2,"method":"sum","params":[2,3]}'),
    ]),
    expected: canonical('lsp', Buffer.concat([lsp('{"jsonrpc":"2.0","id":1,"result":"ü"}'), lsp('{"jsonrpc":"2.0","id":2,"result":5}')])),
  },
  mcp1: {
    input: Buffer.concat([
      request(1, 'echo', ['héllo']),
      request(2, 'sum', [1, 2, 3], true),
      mcp1Bytes({ type: 5, id: 3 }),
      notification('ping'),
      request(4, 'stream', [2]),
      mcp1Bytes({ type: 7, id: 99 }),
    ]),
    expected: canonical(
      'mcp1',
      Buffer.concat([
        mcp1Bytes({ type: 2, id: 1, payload: pack('héllo') }),
        mcp1Bytes({ type: 2, id: 2, flags: 1, payload: '6' }),
        mcp1Bytes({ type: 6, id: 3 }),
        mcp1Bytes({ type: 8, id: 4, payload: pack(0) }),
        mcp1Bytes({ type: 8, id: 4, payload: pack(1) }),
        mcp1Bytes({ type: 2, id: 4, payload: pack(null) }),
      ]),
    ),
  },
};

/** Waits until `client` has received `count` whole LSP messages (or closes); returns their bodies. */
export async function readLsp(client: RawClient, count: number, timeoutMs = 5000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const bytes = client.bytes();
    let bodies: string[] = [];
    try {
      bodies = lspBodies(bytes);
    } catch {
      // Part of a message so far.
    }
    if (bodies.length >= count) return bodies;
    if (client.closed || Date.now() > deadline) {
      throw new Error(
        `expected ${count} LSP messages (${client.closed ? 'closed' : 'timeout'}): ${JSON.stringify(bytes.toString('utf8'))}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * What detectProtocol must decide for a connection's first bytes, written from
 * PROTOCOL.md section 1 alone (not from the implementation): a protocol, 'more'
 * while the bytes are a proper prefix of an opening, or 'unknown'.
 */
export function expectedDetection(first: Uint8Array): 'mcp1' | 'jsonrpc' | 'lsp' | 'more' | 'unknown' {
  const text = Buffer.from(first).toString('latin1');
  const prefixOf = (opening: string, foldCase: boolean): boolean => {
    const head = foldCase ? text.slice(0, opening.length).toLowerCase() : text.slice(0, opening.length);
    return opening.startsWith(head);
  };
  if (prefixOf('MCP1', false)) return text.length >= 4 ? 'mcp1' : 'more';
  if (prefixOf('content-length:', true)) return text.length >= 15 ? 'lsp' : 'more';
  for (let i = 0; i < Math.min(text.length, 16); i++) {
    const c = text[i]!;
    if (c === '{' || c === '[') return 'jsonrpc';
    if (c !== ' ' && c !== '\t' && c !== '\r' && c !== '\n') return 'unknown';
  }
  return text.length >= 16 ? 'unknown' : 'more';
}

/**
 * Records a measured figure for docs/RELIABILITY.md. Specs print nothing; with
 * `RINGWIRE_FIGURES=/path/file.jsonl` set, each figure is appended there as one
 * JSON line, so the table can be rebuilt from a run.
 */
export function recordFigure(what: string, figures: Record<string, unknown>): void {
  const file = process.env.RINGWIRE_FIGURES;
  if (file) appendFileSync(file, `${JSON.stringify({ what, ...figures })}\n`);
}
