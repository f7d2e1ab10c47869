import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, killAll, ringwire } from '../fixtures/cli.js';
import { removeTempDirs, tempDir } from '../helpers/socketPath.js';
import { transports } from '../helpers/transports.js';

describe.each(transports())('ringwire serve --transport %s: SIGTERM as soon as it listens', (transport) => {
  beforeAll(ensureBuilt);
  afterEach(killAll);
  afterAll(removeTempDirs);

  // The "listening on" line is written while the server is still starting: a signal
  // right after it used to meet no handler yet and kill the process undrained, leaving
  // its socket file (2 in 3 tries before the fix).
  it('drains and exits 0, removing its socket file, every time', async () => {
    for (let attempt = 0; attempt < 8; attempt++) {
      const dir = tempDir();
      const cli = ringwire(['serve', '--transport', transport, '--unix', join(dir, 's.sock')]);
      await new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer): void => {
          if (!chunk.toString().includes('listening on unix:')) return;
          cli.child.stdout!.off('data', onData);
          cli.child.kill('SIGTERM');
          resolve();
        };
        cli.child.stdout!.on('data', onData);
        cli.child.on('exit', () => reject(new Error(`exited before listening: ${cli.stderr}`)));
      });
      expect(await cli.exited, `attempt ${attempt}: ${cli.stdout}${cli.stderr}`).toBe(0);
      expect(cli.stdout).toContain('SIGTERM received');
      expect(existsSync(join(dir, 's.sock'))).toBe(false);
    }
  });
});
