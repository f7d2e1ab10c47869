/**
 * docs/PIPELINES.md's examples, run exactly as written: every fenced `js` block
 * whose first line names a file (`// auth-server.mjs ...`) is written, unchanged,
 * into a fresh folder inside this repository (where `import 'ringwire'` resolves to
 * the package itself, through its exports map and dist/) and run with node to its
 * end. If a spec here fails, the document is wrong.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from './fixtures/cli.js';

/** The document's named `js` blocks, in order: a list, so that a name used twice shows. */
function examples(): Array<[name: string, source: string]> {
  const doc = readFileSync(join(ROOT, 'docs', 'PIPELINES.md'), 'utf8');
  return [...doc.matchAll(/```js\n(\/\/ ([\w.-]+\.mjs)[^\n]*\n[\s\S]*?)```/g)].map((m) => [m[2]!, m[1]!]);
}

// Not under node_modules (no self-reference there) and not in os.tmpdir() (no
// package.json above it): a folder of the repository, ignored by git.
let dir: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(ROOT, '.pipelines-run-'));
  for (const [name, source] of examples()) writeFileSync(join(dir, name), source);
}, 180_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly lines: string[];
}

/** Runs `node file` in the examples' folder; an example that does not exit by itself is killed and fails. */
function runToEnd(file: string, timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not exit within ${timeoutMs} ms: ${JSON.stringify({ stdout, stderr })}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, lines: stdout.split('\n').filter(Boolean) });
    });
  });
}

/** What each example prints: the lines its comments promise. */
const EXPECTED: Record<string, string[]> = {
  'auth-stage.mjs': [],
  'auth-server.mjs': [
    '-32001 Unauthorized',
    '-32001 Unauthorized',
    'true',
    'jsonrpc pong',
    '-32001 Unauthorized',
    '-32001 Unauthorized',
    '-32001 Unauthorized',
    'true',
    'mcp1 pong',
    '-32001 Unauthorized',
    '[{"jsonrpc":"2.0","id":1,"result":true},{"jsonrpc":"2.0","id":2,"result":"pong"}]',
    '{ unanswered: 0, timedOut: false }',
  ],
  'log-server.mjs': [
    '[log] jsonrpc sum',
    '6',
    '[log] jsonrpc nope',
    '-32601 Method not found',
    '[log] mcp1 sum',
    '6',
    '[log] mcp1 nope',
    '-32601 Method not found',
  ],
  'quota-server.mjs': ['jsonrpc quota 1', 'pong', 'jsonrpc quota 0', 'pong', 'mcp1 quota 1', 'pong', 'mcp1 quota 0', 'pong'],
  'own-pipeline-notify.mjs': ['{"jsonrpc":"2.0","method":"hello","params":["ping"]}', '{"jsonrpc":"2.0","id":1,"result":"pong"}'],
  'framing-server.mjs': [
    'short',
    'connection closed: server said -32600 Message too large',
    '300',
    'connection closed: server said -32600 MCP1 is not served here',
  ],
  'failures-server.mjs': [
    'onError: handler explode failed: disk on fire',
    'explode: -32603 Internal error',
    'onError: handler huge failed: Do not know how to serialize a BigInt',
    'huge: -32603 Internal error',
    'refuse: -32602 Not today',
  ],
  'own-pipeline-failures.mjs': [
    '{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"Internal error"}}',
    'reported: explode failed: Error: disk on fire',
    'reported: huge failed: TypeError: Do not know how to serialize a BigInt',
    '{"jsonrpc":"2.0","id":2,"error":{"code":-32603,"message":"Internal error"}}',
  ],
  'auth-marbles.mjs': ['auth stage: ok'],
};

/** The Unix sockets an example names (`'./x.sock'`). */
function socketsOf(source: string): string[] {
  return [...new Set(source.match(/\.\/[\w-]+\.sock/g) ?? [])];
}

describe('docs/PIPELINES.md examples', () => {
  it('has these files, each once', () => {
    expect(examples().map(([name]) => name)).toEqual([
      'auth-stage.mjs',
      'auth-server.mjs',
      'log-server.mjs',
      'quota-server.mjs',
      'own-pipeline-notify.mjs',
      'framing-server.mjs',
      'failures-server.mjs',
      'own-pipeline-failures.mjs',
      'auth-marbles.mjs',
    ]);
  });

  it('gives each server a Unix socket of its own', () => {
    const servers = examples().filter(([, source]) => source.includes('createServer('));
    const sockets = servers.map(([, source]) => socketsOf(source));
    for (const own of sockets) expect(own).toHaveLength(1);
    expect(new Set(sockets.flat()).size).toBe(servers.length);
  });

  it.each(Object.keys(EXPECTED))(
    '%s runs to its end and prints what its comments say',
    async (file) => {
      const run = await runToEnd(file);
      expect(run.stderr).toBe('');
      expect(run.lines).toEqual(EXPECTED[file]);
      expect(run.code).toBe(0);
    },
    30_000,
  );

  it('left no socket file behind: every server closed', () => {
    expect(readdirSync(dir).filter((name) => name.endsWith('.sock'))).toEqual([]);
  });

  it('auth-marbles.mjs exits non-zero when the stage under test is wrong', async () => {
    const [, source] = examples().find(([name]) => name === 'auth-marbles.mjs')!;
    // The stream under test now runs with another token: the auth calls fail, and the diagram with them.
    const wrong = source.replace("requireToken('k')", "requireToken('other')");
    expect(wrong).not.toBe(source);
    writeFileSync(join(dir, 'auth-marbles-wrong.mjs'), wrong);
    const run = await runToEnd('auth-marbles-wrong.mjs');
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('AssertionError');
    expect(run.lines).toEqual([]);
  }, 30_000);
});
