import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as netServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, killAll, ringwire, run } from '../fixtures/cli.js';
import { transports } from '../fixtures/harness.js';
import { tempDir } from '../helpers/socketPath.js';

beforeAll(ensureBuilt, 180_000);
afterEach(killAll);

/** One line on stderr, exit 1, no stack trace, none of node:util parseArgs' own words. */
function expectOneLineFailure(result: { code: number | null; stderr: string }, text: RegExp | string): void {
  expect(result.code).toBe(1);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(/^ringwire: /);
  if (typeof text === 'string') expect(result.stderr).toBe(`ringwire: ${text}\n`);
  else expect(result.stderr).toMatch(text);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.stderr).not.toMatch(/ambiguous|To specify an option|argument missing|Unknown option|ERR_PARSE_ARGS/);
}

describe('ringwire command-line mistakes', () => {
  it.each([
    [['serve', '--tcp', 'nohost'], /--tcp expects HOST:PORT/],
    [['serve', '--socket-mode', '999'], /--socket-mode expects an octal file mode/],
    [['serve', '--transport', 'carrier-pigeon'], /--transport must be native, net or auto \(got carrier-pigeon\)/],
    [['frobnicate'], /unknown command "frobnicate" \(see ringwire --help\)/],
    [['--frobnicate'], 'unknown option --frobnicate (see ringwire --help)'],
    [['call', 'tcp://127.0.0.1:1'], 'expected TARGET METHOD [PARAMS_JSON] (1 argument given; see ringwire call --help)'],
    [['call', 'tcp://127.0.0.1:1', '--batch', '[{"method":"ping"}]', 'ping'], /expected TARGET --batch JSON/],
    [['stats'], /expected TARGET \(0 arguments given/],
    [['call', 'tcp://127.0.0.1:1', 'ping', '{not json'], /PARAMS_JSON is not valid JSON/],
    [['call', 'tcp://127.0.0.1:1', 'ping'], 'cannot connect to tcp:127.0.0.1:1: ECONNREFUSED'],
  ])('%j fails with one clear line', async (args, text) => {
    expectOneLineFailure(await run(args, tempDir()), text);
  });

  it.each([
    // Each numeric flag, with what it expects and what it got.
    [['serve', '--workers', '-1'], '--workers expects a whole number of at least 0 (got -1)'],
    [['serve', '--workers', 'many'], '--workers expects a whole number of at least 0 (got many)'],
    [['serve', '--max-connections', '0'], '--max-connections expects a whole number of at least 1 (got 0)'],
    [['serve', '--max-message-bytes', '1k'], '--max-message-bytes expects a whole number of bytes of at least 1 (got 1k)'],
    [['serve', '--detect-timeout', '-5'], '--detect-timeout expects a whole number of milliseconds from 1 to 2147483647 (got -5)'],
    [['serve', '--message-timeout', '1.5'], '--message-timeout expects a whole number of milliseconds from 1 to 2147483647 (got 1.5)'],
    [
      ['serve', '--drain-timeout', '99999999999'],
      '--drain-timeout expects a whole number of milliseconds from 1 to 2147483647 (got 99999999999)',
    ],
    [['serve', '--max-in-flight', '0'], '--max-in-flight expects a whole number of at least 1 (got 0)'],
    [['serve', '--write-high-water', 'lots'], '--write-high-water expects a whole number of bytes of at least 1 (got lots)'],
    [['serve', '--concurrency', '0'], '--concurrency expects a whole number of at least 1 (got 0)'],
    [['serve', '--stats-every', '0'], '--stats-every expects a number of seconds greater than 0 (got 0)'],
    [['serve', '--allow-uid', 'me'], '--allow-uid expects a numeric uid such as 1000 (got me)'],
    [['serve', '--workers=-2'], '--workers expects a whole number of at least 0 (got -2)'],
    [
      ['call', 'tcp://127.0.0.1:1', 'ping', '--timeout', '0'],
      '--timeout expects a whole number of milliseconds from 1 to 2147483647 (got 0)',
    ],
    [
      ['stats', 'tcp://127.0.0.1:1', '--timeout', 'soon'],
      '--timeout expects a whole number of milliseconds from 1 to 2147483647 (got soon)',
    ],
    // Unknown flags, each naming the help of its own command.
    [['serve', '--bogus'], 'unknown option --bogus (see ringwire serve --help)'],
    [['serve', '--bogus=1'], 'unknown option --bogus (see ringwire serve --help)'],
    [['serve', '-x'], 'unknown option -x (see ringwire serve --help)'],
    [['call', 'tcp://127.0.0.1:1', 'ping', '--unix', 'x'], 'unknown option --unix (see ringwire call --help)'],
    [['stats', 'tcp://127.0.0.1:1', '--batch', '[]'], 'unknown option --batch (see ringwire stats --help)'],
    // Missing values, and values where none belongs.
    [['serve', '--workers'], '--workers needs a value: --workers N (see ringwire serve --help)'],
    [['serve', '--handlers', '--workers', '2'], '--handlers needs a value: --handlers MODULE (see ringwire serve --help)'],
    [['call', 'tcp://127.0.0.1:1', 'ping', '--timeout'], '--timeout needs a value: --timeout MS (see ringwire call --help)'],
    [['serve', '--expose-stats=yes'], '--expose-stats takes no value (got --expose-stats=yes)'],
    [['serve', 'now'], 'serve takes no arguments, only options (got now; see ringwire serve --help)'],
  ])('%j says what the flag expects, in plain words', async (args, text) => {
    expectOneLineFailure(await run(args, tempDir()), text);
  });
});

describe('ringwire serve --handlers with a module that cannot load', () => {
  function module(dir: string, name: string, text: string): string {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  }

  it.each([[[]], [['--workers', '1']]])('names the file, line and column of a syntax error (%j)', async (extra) => {
    const dir = tempDir();
    const line4 = 'export const bad = (x) => { x + };';
    const path = module(dir, 'broken.mjs', `export function ok() {\n  return 1;\n}\n${line4}\n`);
    const result = await run(['serve', '--unix', 's.sock', '--handlers', './broken.mjs', ...extra], dir);
    const column = line4.indexOf('}') + 1;
    expectOneLineFailure(result, `cannot load handlers from ${path}:4:${column}: SyntaxError: Unexpected token '}'`);
  });

  it('names the line of a .js file of no declared module type, where Node gives no column', async () => {
    const dir = tempDir();
    const path = module(dir, 'unfinished.js', 'export function ok() {\n  return 1;\n');
    const result = await run(['serve', '--unix', 's.sock', '--handlers', path], dir);
    expectOneLineFailure(result, `cannot load handlers from ${path}:3: SyntaxError: Unexpected end of input`);
  });

  it('says that a module does not exist, with the path it was resolved to', async () => {
    const dir = tempDir();
    const result = await run(['serve', '--unix', 's.sock', '--handlers', './missing.mjs'], dir);
    expectOneLineFailure(result, `cannot load handlers from ${join(dir, 'missing.mjs')}: no such file`);
  });

  it('says that a module threw while loading, with its message', async () => {
    const dir = tempDir();
    const path = module(dir, 'throws.mjs', 'export const ok = () => 1;\nthrow new Error("no database at load time");\n');
    const result = await run(['serve', '--unix', 's.sock', '--handlers', './throws.mjs'], dir);
    expectOneLineFailure(result, `cannot load handlers from ${path}: it threw while loading: no database at load time`);
  });
});

describe.each(transports())('ringwire serve with an unusable address (%s)', (transport) => {
  it('refuses a socket path with a live server behind it', async () => {
    const dir = tempDir();
    const first = ringwire(['serve', '--transport', transport, '--unix', 'live.sock'], dir);
    await first.lines(/listening on unix:/);
    const result = await run(['serve', '--transport', transport, '--unix', 'live.sock'], dir);
    expectOneLineFailure(result, /live\.sock is in use by a running server/);
  });

  it('refuses, and keeps, a path that is not a socket', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const result = await run(['serve', '--transport', transport, '--unix', 'notes.txt'], dir);
    expectOneLineFailure(result, /notes\.txt exists and is not a socket/);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('says that the directory of a socket path does not exist', async () => {
    const dir = tempDir();
    const result = await run(['serve', '--transport', transport, '--unix', join(dir, 'no', 'such', 'a.sock')], dir);
    expectOneLineFailure(
      result,
      `cannot listen on unix:${join(dir, 'no', 'such', 'a.sock')}: directory ${join(dir, 'no', 'such')} does not exist`,
    );
  });

  it('reports a directory it may not write to (EACCES)', async (ctx) => {
    if (process.getuid?.() === 0) ctx.skip(); // root writes anywhere: EACCES cannot happen
    const dir = join(tempDir(), 'locked');
    mkdirSync(dir);
    chmodSync(dir, 0o500);
    const result = await run(['serve', '--transport', transport, '--unix', join(dir, 's.sock')], dir);
    expectOneLineFailure(result, `cannot listen on unix:${join(dir, 's.sock')}: no permission to create a socket in ${dir} (EACCES)`);
  });

  it.for([
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '[::1]'],
  ] as const)('refuses a TCP port that is taken on %s, saying so once', async ([host, shown], ctx) => {
    const taken: Server = netServer();
    const listening = await new Promise<boolean>((resolve) => {
      taken.once('error', () => resolve(false));
      taken.listen(0, host, () => resolve(true));
    });
    if (!listening) return ctx.skip(); // no IPv6 loopback here
    const port = (taken.address() as { port: number }).port;
    try {
      const result = await run(['serve', '--transport', transport, '--tcp', `${shown}:${port}`], tempDir());
      expectOneLineFailure(result, `cannot listen on tcp:${shown}:${port}: the address is already in use (EADDRINUSE)`);
    } finally {
      taken.close();
    }
  });
});
