/**
 * Says why a `--handlers` module could not be loaded: a missing file with its
 * resolved path, a syntax error with its line and column, or what it threw. Node's
 * import() gives a SyntaxError no location, so a failed module is checked again,
 * parsed but never run, by `node --check` in a child process (only on failure).
 * @module
 */
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { OptionsError } from '../core/errors.js';
import { moduleSpecifier } from '../server/handlers.js';
import { errnoOf } from '../transport/unixPath.js';
import { HandlersLoadError } from './errors.js';

/** A check in a child process is a last word on a failure, but it must end. */
const CHECK_TIMEOUT_MS = 10_000;

/**
 * The error to print for createServer's `error` when it failed to import `spec`;
 * any other error is returned as it is.
 */
export async function explainHandlersFailure(error: unknown, spec: string): Promise<unknown> {
  const cause = error instanceof OptionsError ? causeOf(error.message, spec) : undefined;
  if (cause === undefined) return error;
  const url = moduleSpecifier(spec);
  // A package name: Node's words name it; where it was imported from is ringwire's own file, of no use here.
  if (!url.startsWith('file:')) return new HandlersLoadError(spec, cause.replace(/ imported from \S+$/, ''));
  const path = fileURLToPath(url);
  const kind = await stat(path).then(
    (s) => (s.isFile() ? 'file' : 'other'),
    (e: unknown) => (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR' ? 'missing' : 'file'),
  );
  if (kind === 'missing') return new HandlersLoadError(path, 'no such file');
  if (kind === 'other') return new HandlersLoadError(path, 'not a file (give the module file itself)');
  const syntax = await locateSyntaxError(path, cause);
  if (syntax !== undefined) return new HandlersLoadError(syntax.where, `SyntaxError: ${cause}`);
  if (/^Cannot find (module|package) /.test(cause)) return new HandlersLoadError(path, cause);
  return new HandlersLoadError(path, `it threw while loading: ${cause}`);
}

/** The import's own message, after createServer's (inline) or the worker pool's prefix. */
function causeOf(message: string, spec: string): string | undefined {
  for (const prefix of [`cannot load handlers module ${spec}: `, `cannot load handlers module ${spec} in a worker: `]) {
    if (message.startsWith(prefix)) return message.slice(prefix.length);
  }
  return undefined;
}

/**
 * `path:line[:column]` of the syntax error the import failed with, if the file
 * itself has it. The source goes in on stdin with its module type given, because
 * `node --check FILE` on a `.js` file of no declared type parses it as CommonJS and
 * (Node 20) passes ESM with errors in it. Only a check that reports the very
 * message the import gave is believed: then this file is where it is.
 */
async function locateSyntaxError(path: string, cause: string): Promise<{ where: string } | undefined> {
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  for (const type of ['module', 'commonjs'] as const) {
    const found = parseCheck(await check(source, type));
    if (found?.message === cause) return { where: `${path}:${found.line}${found.column === undefined ? '' : `:${found.column}`}` };
  }
  return undefined;
}

function check(source: string, type: 'module' | 'commonjs'): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [`--input-type=${type}`, '--check'],
      { timeout: CHECK_TIMEOUT_MS, maxBuffer: 1 << 20 },
      (_error, _stdout, stderr) => resolve(String(stderr)),
    );
    child.stdin?.on('error', () => {}); // a child gone early: its stderr says why
    child.stdin?.end(source);
  });
}

/**
 * Reads Node's report: `[stdin]:LINE`, the source line, carets under the error
 * (absent at the end of input), a blank line, `SyntaxError: MESSAGE`.
 */
export function parseCheck(stderr: string): { line: number; column?: number; message: string } | undefined {
  const lines = stderr.split(/\r?\n/);
  const line = /^\[stdin\]:(\d+)$/.exec(lines[0] ?? '');
  const message = lines.find((l) => l.startsWith('SyntaxError: '));
  if (!line || message === undefined) return undefined;
  const caret = (lines[2] ?? '').indexOf('^');
  return { line: Number(line[1]), ...(caret >= 0 ? { column: caret + 1 } : {}), message: message.slice('SyntaxError: '.length) };
}
