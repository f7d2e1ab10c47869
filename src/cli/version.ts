import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * ringwire's version, from its package.json, found by walking up from this module:
 * two levels up from src/cli, three from dist/src/cli, wherever the package is installed.
 */
export function packageVersion(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const found = versionIn(join(dir, 'package.json'));
    if (found !== undefined) return found;
    if (dirname(dir) === dir) throw new Error(`no package.json of ringwire above ${from}`);
  }
}

function versionIn(file: string): string | undefined {
  let pkg: unknown;
  try {
    pkg = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined; // none here, or not ours to read
  }
  if (pkg === null || typeof pkg !== 'object') return undefined;
  const { name, version } = pkg as { name?: unknown; version?: unknown };
  return name === 'ringwire' && typeof version === 'string' ? version : undefined;
}
