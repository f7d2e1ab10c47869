import { from, interval, lastValueFrom, Observable, range, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { handle } from '../operators/handle.js';
import type { Handler, PipelineRecord, ReplyRecord, RequestRecord } from '../src/core/records.js';
import { type TestConnection, testConnection } from '../src/testing/connection.js';

// handle() must not let one stream exhaust the server: a JSON-RPC stream is held as one
// array until it ends, and an MCP1 stream can outrun a client that does not read.
function request(conn: TestConnection, handler: Handler, protocol: RequestRecord['protocol']): RequestRecord {
  return { type: 'request', connection: conn, protocol, id: 7, notification: false, method: 'm', params: [], handler };
}

const replies = (records: PipelineRecord[]): ReplyRecord[] => records.filter((r): r is ReplyRecord => r.type === 'reply');

describe('handle() bounds', () => {
  it('answers a JSON-RPC stream longer than maxCollectedItems with -32603 and stops it', async () => {
    const conn = testConnection();
    let emitted = 0;
    const endless: Handler = () =>
      new Observable<number>((s) => {
        for (let i = 0; i < 1_000_000 && !s.closed; i++) {
          emitted++;
          s.next(i);
        }
        s.complete();
      });
    const out = replies(
      await lastValueFrom(from([request(conn, endless, 'jsonrpc')]).pipe(handle({ maxCollectedItems: 1000 }), toArray())),
    );
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ kind: 'error', final: true, error: { code: -32603, message: 'Internal error' } });
    expect(emitted).toBeLessThan(1010); // stopped at once, not run to its end
  });

  it('collects a JSON-RPC stream within maxCollectedItems into one array', async () => {
    const conn = testConnection();
    const out = replies(
      await lastValueFrom(from([request(conn, () => range(0, 1000), 'jsonrpc')]).pipe(handle({ maxCollectedItems: 1000 }), toArray())),
    );
    expect(out).toEqual([expect.objectContaining({ kind: 'result', final: true, result: Array.from({ length: 1000 }, (_, i) => i) })]);
  });

  it('cancels an MCP1 stream whose client has more than maxStreamBacklogBytes unsent', async () => {
    const conn = testConnection();
    let unsubscribed = false;
    const flood: Handler = () =>
      new Observable<number>((s) => {
        const sub = interval(1).pipe(take(50)).subscribe(s);
        return () => {
          unsubscribed = true;
          sub.unsubscribe();
        };
      });
    const source = from([request(conn, flood, 'mcp1')]);
    const seen: ReplyRecord[] = [];
    await new Promise<void>((resolve) => {
      source.pipe(handle({ maxStreamBacklogBytes: 1000 })).subscribe({
        next: (r) => {
          if (r.type !== 'reply') return;
          seen.push(r);
          if (r.kind === 'item') conn.unsent += 400; // a client that never reads
        },
        complete: resolve,
      });
    });
    const items = seen.filter((r) => r.kind === 'item');
    expect(items).toHaveLength(3); // 0, 400, 800 unsent: sent; 1200 > 1000: cancelled
    expect(seen.at(-1)).toMatchObject({ kind: 'error', final: true, error: { code: -32603 } });
    expect(unsubscribed).toBe(true);
  });
});
