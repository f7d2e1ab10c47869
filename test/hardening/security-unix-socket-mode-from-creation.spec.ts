/**
 * PROTOCOL.md 4: Unix socket files are created with mode 0600 (or the mode given)
 * — from the moment they exist, not after a chmod that another user could race. A
 * worker thread polls lstat() on the path in a tight loop, in parallel with
 * listen(), and records every mode it sees; none may be wider than the one asked
 * for. The process umask is 0 meanwhile, the most permissive a service manager
 * could leave, so the server cannot lean on it.
 */
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoHandlers } from '../../src/handlers/demo.js';
import { createServer } from '../../src/server/createServer.js';
import { transports } from '../fixtures/harness.js';
import { removeTempDirs, tempSocketPath } from '../helpers/socketPath.js';
import { recordFigure } from './input-wire.js';

/** listen()/close() rounds per mode: the file's first instant is caught in some of them. */
const ROUNDS = 15;

/** Polls lstat(path) until told to stop; reports every mode seen and how many polls found the file. */
const WATCHER = `
const { lstatSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const shared = new Int32Array(workerData.shared);
const modes = new Set();
let seen = 0, polls = 0;
parentPort.postMessage('ready');
while (Atomics.load(shared, 0) === 0) {
  polls++;
  const st = lstatSync(workerData.path, { throwIfNoEntry: false });
  if (st !== undefined) { seen++; modes.add(st.mode & 0o7777); Atomics.store(shared, 1, 1); }
}
parentPort.postMessage({ modes: [...modes], seen, polls });
`;

interface Watched {
  modes: number[];
  seen: number;
  polls: number;
}

/**
 * Runs `action` while a worker polls `path`; `action` gets a wait that resolves once
 * the worker has seen the file (so that a loaded machine cannot make the check vacuous).
 */
async function watchWhile(path: string, action: (seenByWatcher: () => Promise<void>) => Promise<void>): Promise<Watched> {
  const shared = new Int32Array(new SharedArrayBuffer(8)); // [stop, seen]
  const worker = new Worker(WATCHER, { eval: true, workerData: { path, shared: shared.buffer } });
  const result = new Promise<Watched>((resolve, reject) => {
    worker.on('message', (m: Watched | 'ready') => m !== 'ready' && resolve(m));
    worker.on('error', reject);
  });
  await new Promise<void>((resolve) => worker.once('message', () => resolve()));
  const seenByWatcher = async (): Promise<void> => {
    const deadline = Date.now() + 2000;
    while (Atomics.load(shared, 1) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
  };
  try {
    await action(seenByWatcher);
  } finally {
    Atomics.store(shared, 0, 1);
  }
  const watched = await result;
  await worker.terminate();
  return watched;
}

let umask: number;
beforeAll(() => {
  umask = process.umask(0);
});
afterAll(() => {
  process.umask(umask);
  removeTempDirs();
});

describe.each(transports())('Unix socket file mode from creation (%s)', (transport) => {
  it.each([
    ['the default 0600', undefined, 0o600],
    ['socketMode 0660', 0o660, 0o660],
    ['socketMode 0640', 0o640, 0o640],
    ['socketMode 0700', 0o700, 0o700],
  ])('%s: no observed mode is ever wider', async (_name, socketMode, expected) => {
    const observed = new Set<number>();
    let seen = 0;
    let seenRounds = 0;
    let polls = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const path = tempSocketPath();
      const watched = await watchWhile(path, async (seenByWatcher) => {
        const server = await createServer({ listen: [{ unix: path }], handlers: demoHandlers, transport, socketMode });
        await seenByWatcher();
        await server.close({ drainTimeoutMs: 0 });
      });
      watched.modes.forEach((m) => observed.add(m));
      seen += watched.seen;
      if (watched.seen > 0) seenRounds++;
      polls += watched.polls;
    }
    recordFigure(`socket file mode polls while listening (${transport}, ${expected.toString(8)})`, {
      rounds: ROUNDS,
      polls,
      sawFile: seen,
      modes: [...observed].map((m) => m.toString(8)),
    });
    // The watcher did see the file in every round (else this proves nothing), and only ever with the mode asked for.
    expect(seenRounds).toBe(ROUNDS);
    expect([...observed].map((m) => m.toString(8))).toEqual([expected.toString(8)]);
  });
});
