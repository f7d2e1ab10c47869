/**
 * The core layer's rule (docs/ARCHITECTURE.md, "The core layer"): src/core/ is
 * imported by operators/ and src/transport/ and imports neither, nor the server,
 * the client or the CLI; operators/ import nothing from src/ but src/core/. Read
 * from the source files' own import specifiers (static, type-only, re-exports,
 * dynamic `import()` and `import('…')` types), comments and strings excluded.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;

/** Every source file under `dir` (relative to the package root), recursively. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (SOURCE.test(entry.name)) out.push(path);
  }
  return out;
}

/** The module specifiers a source text imports or re-exports from. */
function specifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** A specifier of `file`, as a package-root-relative path with `/` separators; undefined for a package. */
function resolved(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return relative(ROOT, resolve(ROOT, dirname(file), specifier))
    .split(sep)
    .join('/');
}

function inside(path: string, folder: string): boolean {
  return path === folder || path.startsWith(`${folder}/`);
}

/** The package's own name, imported by name instead of by path (`ringwire`, `ringwire/operators`, …). */
function isSelf(specifier: string): boolean {
  return specifier === 'ringwire' || specifier.startsWith('ringwire/');
}

const FORBIDDEN_IN_CORE = ['operators', 'src/transport', 'src/server', 'src/client', 'src/cli'];

/** `file imports specifier` for each import of a core file that leaves the core layer. */
function coreViolations(file: string, text: string): string[] {
  const out: string[] = [];
  for (const s of specifiers(text)) {
    const target = resolved(file, s);
    const bad = target === undefined ? isSelf(s) : !inside(target, 'src/core') || FORBIDDEN_IN_CORE.some((f) => inside(target, f));
    if (bad) out.push(`${file} imports ${s}`);
  }
  return out;
}

/** `file imports specifier` for each import of an operators/ file into src/ outside src/core/. */
function operatorViolations(file: string, text: string): string[] {
  const out: string[] = [];
  for (const s of specifiers(text)) {
    const target = resolved(file, s);
    const bad = target === undefined ? isSelf(s) : !inside(target, 'operators') && !inside(target, 'src/core');
    if (bad) out.push(`${file} imports ${s}`);
  }
  return out;
}

describe('the core layer (src/core/)', () => {
  const core = sourceFiles('src/core');
  const operators = sourceFiles('operators');

  it('has its files, and the operators theirs', () => {
    expect(core).toContain(join('src', 'core', 'records.ts'));
    expect(core).toContain(join('src', 'core', 'wire', 'mcp1.ts'));
    expect(operators).toContain(join('operators', 'index.ts'));
  });

  it('imports nothing outside src/core/: not operators/, src/transport/, src/server/, src/client/ nor src/cli/', () => {
    const violations = core.flatMap((file) => coreViolations(file, readFileSync(join(ROOT, file), 'utf8')));
    expect(violations).toEqual([]);
  });

  it('is all operators/ import from src/ (not src/transport/, src/server/, src/testing/, …)', () => {
    const violations = operators.flatMap((file) => operatorViolations(file, readFileSync(join(ROOT, file), 'utf8')));
    expect(violations).toEqual([]);
  });

  it('reads every kind of import, and not what comments and strings say', () => {
    const text = [
      "import type { A } from '../transport/types.js';",
      "import { b } from '../../operators/index.js';",
      "export * from '../server/createServer.js';",
      "export type { C } from './records.js';",
      "const d = await import('../client/connect.js');",
      "type E = import('../cli/main.js').E;",
      "import 'ringwire/operators';",
      "// import x from '../server/pool.js';",
      'const s = "import y from \'../server/pool.js\'";',
    ].join('\n');
    expect(coreViolations(join('src', 'core', 'x.ts'), text)).toEqual([
      'src/core/x.ts imports ../transport/types.js',
      'src/core/x.ts imports ../../operators/index.js',
      'src/core/x.ts imports ../server/createServer.js',
      'src/core/x.ts imports ../client/connect.js',
      'src/core/x.ts imports ../cli/main.js',
      'src/core/x.ts imports ringwire/operators',
    ]);
    const fromOperators = [
      "import type { A } from '../src/core/records.js';",
      "import { b } from './internal/hop.js';",
      "import { c } from '../src/transport/types.js';",
      "import { d } from '../src/testing/index.js';",
      "import { e } from '../../src/errors.js';",
      "import { f } from 'rxjs';",
    ].join('\n');
    expect(operatorViolations(join('operators', 'x.ts'), fromOperators)).toEqual([
      'operators/x.ts imports ../src/transport/types.js',
      'operators/x.ts imports ../src/testing/index.js',
      'operators/x.ts imports ../../src/errors.js',
    ]);
  });
});
