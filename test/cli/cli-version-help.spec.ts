import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CALL_FLAGS, SERVE_FLAGS, STATS_FLAGS } from '../../src/cli/args.js';
import { packageVersion } from '../../src/cli/version.js';
import { ensureBuilt, ROOT, run } from '../fixtures/cli.js';
import { tempDir } from '../helpers/socketPath.js';

beforeAll(ensureBuilt, 180_000);

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('ringwire --version', () => {
  it.each(['--version', '-v'])('%s prints the package version and exits 0', async (flag) => {
    expect(await run([flag], tempDir())).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('finds the package.json of an installed ringwire, past other package.json files', () => {
    const root = tempDir();
    const pkg = join(root, 'node_modules', 'ringwire');
    mkdirSync(join(pkg, 'dist', 'src', 'cli'), { recursive: true });
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0' }));
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'ringwire', version: '9.8.7' }));
    writeFileSync(join(pkg, 'dist', 'package.json'), JSON.stringify({ type: 'module' }));
    expect(packageVersion(join(pkg, 'dist', 'src', 'cli'))).toBe('9.8.7');
  });
});

describe('ringwire help', () => {
  const flagsOf = (text: string) => new Set(text.match(/--[a-z][a-z-]*/g));

  it('--help prints the overview of every command', async () => {
    const result = await run(['--help']);
    expect(result.code).toBe(0);
    for (const line of [
      'ringwire serve [options]',
      'ringwire call TARGET METHOD [PARAMS_JSON]',
      'ringwire call TARGET --batch JSON',
      'ringwire stats TARGET',
      'ringwire --version',
    ]) {
      expect(result.stdout).toContain(line);
    }
  });

  it.each([
    ['serve', SERVE_FLAGS, 'Usage: ringwire serve [options]'],
    ['call', CALL_FLAGS, 'Usage:\n  ringwire call TARGET METHOD [PARAMS_JSON] [options]\n  ringwire call TARGET --batch JSON'],
    ['stats', STATS_FLAGS, 'Usage: ringwire stats TARGET [options]'],
  ] as const)('%s --help prints that command alone: its usage line and exactly its options', async (command, flags, usage) => {
    const result = await run([command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.startsWith(usage)).toBe(true);
    const shown = flagsOf(result.stdout);
    shown.delete('--help'); // "see ringwire serve --help" and the like
    if (command === 'stats') shown.delete('--expose-stats'); // it says which serve flag it needs
    expect([...shown].sort()).toEqual(
      Object.keys(flags)
        .map((name) => `--${name}`)
        .sort(),
    );
    // -h and `help COMMAND` print the same.
    expect((await run([command, '-h'])).stdout).toBe(result.stdout);
    expect((await run(['help', command])).stdout).toBe(result.stdout);
  });

  it('--help wins over the rest of the command line, even over a mistake in it', async () => {
    const result = await run(['serve', '--workers', 'many', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith('Usage: ringwire serve')).toBe(true);
  });

  it('the serve help states the defaults of PROTOCOL.md section 4', async () => {
    const { stdout } = await run(['serve', '--help']);
    for (const text of ['(default 5000)', '(default 30000)', '(default 256)', '(default 10000)', '(default 1048576)']) {
      expect(stdout).toContain(text);
    }
    expect(stdout).not.toContain('10 s');
  });
});
