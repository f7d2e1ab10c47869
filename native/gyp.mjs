// Runs node-gyp on native/binding.gyp. Shared by build.mjs (a developer's or CI's
// build, which must succeed) and install.mjs (a user's install, which must not fail).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NATIVE_DIR = dirname(fileURLToPath(import.meta.url));
export const BUILT = join(NATIVE_DIR, 'build', 'Release', 'ringwire.node');

/**
 * node-gyp's entry script: npm's own (npm gives install scripts its path in
 * npm_config_node_gyp), else the one installed beside ringwire (a developer's
 * clone has it as a devDependency). Undefined where there is neither.
 */
function nodeGypScript() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return undefined;
  }
}

/**
 * `node-gyp rebuild` of the addon, by this very node; `sanitize` adds ASan + UBSan
 * (binding.gyp reads RINGWIRE_ASAN_BUILD). Resolves `{ ok }` or `{ ok: false, why }`.
 */
export function gypRebuild({ sanitize = false, stdio = 'inherit' } = {}) {
  const script = nodeGypScript();
  if (script === undefined) return { ok: false, why: 'node-gyp is not available' };
  const args = [script, 'rebuild', '--directory', NATIVE_DIR, '-j', 'max'];
  // Outside npm, node-gyp does not read .npmrc's nodedir: a node installed with its
  // headers (prefix/include/node) needs no download, so point node-gyp at it.
  const prefix = dirname(dirname(process.execPath));
  if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
    args.push(`--nodedir=${prefix}`);
  }
  const env = { ...process.env, RINGWIRE_ASAN_BUILD: sanitize ? '1' : '0' };
  const result = spawnSync(process.execPath, args, { stdio, env });
  if (result.error) return { ok: false, why: result.error.message };
  if (result.status !== 0) return { ok: false, why: `node-gyp exited with ${result.status ?? result.signal}` };
  if (!existsSync(BUILT)) return { ok: false, why: `node-gyp succeeded but ${BUILT} is missing` };
  return { ok: true };
}
