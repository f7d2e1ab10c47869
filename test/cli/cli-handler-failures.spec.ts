import { connect as netConnect } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, killAll, serveIn } from '../fixtures/cli.js';
import { transports } from '../fixtures/harness.js';
import { tempDir } from '../helpers/socketPath.js';
import { waitUntil } from '../helpers/wait.js';

beforeAll(ensureBuilt, 180_000);
afterEach(killAll);

const FAILURES = 400;
const LINE = /^ringwire: warn: handler fail failed: fail: this handler always fails \(-32603\)$/;
const SUMMARY = /^ringwire: warn: (\d+) more handler failures? in the last second \(suppressed\)$/;

/** Sends `count` calls of `method` in one write and resolves when every answer is in. */
function flood(path: string, method: string, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ path });
    let answers = 0;
    socket.once('error', reject);
    socket.once('connect', () => {
      let text = '';
      for (let id = 1; id <= count; id++) text += JSON.stringify({ jsonrpc: '2.0', id, method }) + '\n';
      socket.write(text);
    });
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      answers += chunk.split('\n').length - 1;
      if (answers >= count) {
        socket.end();
        resolve();
      }
    });
  });
}

describe.each(transports())('ringwire serve logs handler failures (%s)', (transport) => {
  it('one line per failure naming the method, at most 10 a second, the rest counted', async () => {
    const { cli, unix } = await serveIn(tempDir(), ['--transport', transport]);
    await flood(unix, 'fail', FAILURES);
    const lines = () => cli.stderr.split('\n').filter((l) => l !== '');
    const accounted = () => lines().reduce((sum, line) => sum + (LINE.test(line) ? 1 : Number(SUMMARY.exec(line)?.[1] ?? 0)), 0);
    // Every failure is either printed or counted in a summary, which comes at its second's end.
    await waitUntil(() => accounted() >= FAILURES, `${FAILURES} failures accounted for; stderr: ${cli.stderr}`, 5000);
    expect(accounted()).toBe(FAILURES);
    const shown = lines().filter((l) => LINE.test(l));
    const summaries = lines().filter((l) => SUMMARY.test(l));
    expect(lines()).toHaveLength(shown.length + summaries.length);
    expect(shown.length).toBeGreaterThanOrEqual(1);
    // One window, or two if the flood straddled a second's end.
    expect(shown.length).toBeLessThanOrEqual(20);
    expect(summaries.length).toBeLessThanOrEqual(2);
  });
});
