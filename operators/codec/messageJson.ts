/**
 * What the server sends a JSON-RPC client of its own accord (PROTOCOL.md 6.1), as
 * text: a notification `{"jsonrpc":"2.0","method":M,"params":P}` (no `params` member
 * when it has none), a request with the server's `id` after `jsonrpc`, and on LSP
 * connections `$/cancelRequest` `{id}` for a request given up. Rare next to
 * replies, so built as strings.
 * @module
 */
import type { MessageRecord } from '../../src/core/records.js';

/** The message's JSON text; undefined for what the connection's protocol has no message for (a cancel on NDJSON). Throws what JSON.stringify throws. */
export function messageJson(message: MessageRecord): string | undefined {
  if (message.kind === 'cancel') {
    return message.protocol === 'lsp'
      ? `{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":${JSON.stringify(message.id)}}}`
      : undefined;
  }
  const id = message.kind === 'request' ? `"id":${JSON.stringify(message.id)},` : '';
  const params = message.params === undefined ? '' : `,"params":${JSON.stringify(message.params)}`;
  return `{"jsonrpc":"2.0",${id}"method":${JSON.stringify(message.method)}${params}}`;
}
