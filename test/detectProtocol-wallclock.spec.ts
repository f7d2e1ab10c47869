import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { detectProtocol } from '../operators/detectProtocol.js';
import type { PipelineRecord } from '../src/core/records.js';
import { type TestConnection, testConnection } from '../src/testing/connection.js';

// detectProtocol stamps deadlines lazily on a wall clock (once per task, not per
// open): a connection must still never be closed before its timeout, and not much after.
describe('detectProtocol() on the real clock', () => {
  it('times out undecided connections no earlier than timeoutMs, and soon after it', async () => {
    const timeoutMs = 60;
    const input = new Subject<PipelineRecord>();
    const closedAt = new Map<TestConnection, number>();
    const openedAt = new Map<TestConnection, number>();
    const subscription = input.pipe(detectProtocol({ timeoutMs })).subscribe((r) => {
      if (r.type === 'violation' && r.reason === 'detect-timeout') closedAt.set(r.connection as TestConnection, performance.now());
    });
    const decided = testConnection();
    for (let wave = 0; wave < 4; wave++) {
      for (let i = 0; i < 25; i++) {
        const connection = testConnection();
        openedAt.set(connection, performance.now());
        input.next({ type: 'open', connection });
      }
      await new Promise((r) => setTimeout(r, 7));
    }
    input.next({ type: 'open', connection: decided });
    input.next({ type: 'data', connection: decided, bytes: new TextEncoder().encode('{"jsonrpc"') });
    await new Promise((r) => setTimeout(r, timeoutMs + 250));
    subscription.unsubscribe();
    expect(closedAt.size).toBe(100);
    expect(closedAt.has(decided)).toBe(false);
    for (const [connection, opened] of openedAt) {
      const waited = closedAt.get(connection)! - opened;
      expect(waited).toBeGreaterThanOrEqual(timeoutMs - 1); // timer granularity: never materially early
      expect(waited).toBeLessThan(timeoutMs + 200);
    }
  });
});
