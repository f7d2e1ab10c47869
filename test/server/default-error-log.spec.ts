/**
 * A server given no `onError` still reports what fails, on stderr, one line each,
 * and a hot failing handler cannot flood it: at most ten lines a second, the rest
 * counted in one line.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connect } from '../../src/client/connect.js';
import { matrix, startServer, useCleanup } from '../fixtures/harness.js';

useCleanup();

describe('the default error log', () => {
  let lines: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    lines = [];
  });

  it('prints each handler failure as one line, at most ten a second, then a count of the rest', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    });
    const [transport, kind] = matrix()[0]!;
    const { server, target } = await startServer(transport, kind, {
      handlers: {
        boom: () => {
          throw new Error('kaput\n    at somewhere (x.js:1:1)');
        },
      },
    });
    const client = await connect(target);
    const answers = await Promise.all(Array.from({ length: 200 }, () => client.call('boom').catch((e: { code: number }) => e.code)));
    expect(new Set(answers)).toEqual(new Set([-32603]));
    await client.close();
    await server.close();
    const failures = lines.filter((l) => l.startsWith('ringwire: warn: handler boom failed: kaput'));
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures.length).toBeLessThanOrEqual(20);
    for (const line of failures) expect(line).toBe('ringwire: warn: handler boom failed: kaput at somewhere (x.js:1:1) (-32603)');
    const counted = lines
      .map((l) => /^ringwire: warn: (\d+) more handler failures? in the last second \(suppressed\)$/.exec(l))
      .reduce((sum, m) => sum + (m ? Number(m[1]) : 0), 0);
    // Every failure is printed or counted (close() writes the count held back).
    expect(failures.length + counted).toBe(200);
  });
});
