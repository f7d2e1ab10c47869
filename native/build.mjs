// Builds the native addon with node-gyp. A machine that cannot build it still gets
// a working install: ringwire then runs on its node:net transport (with a warning).
// `--asan` builds an AddressSanitizer + UBSan copy into native/build-asan/.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const asan = process.argv.includes('--asan');
const require = createRequire(import.meta.url);

// Our own node-gyp, run by this very node, so the build works outside npm scripts too.
function gypArgs(extra) {
  const args = [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild', '--directory', here, '-j', 'max'];
  // Outside npm, node-gyp does not read .npmrc's nodedir: a node installed with its
  // headers (prefix/include/node) needs no download, so point node-gyp at it.
  const prefix = dirname(dirname(process.execPath));
  if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
    args.push(`--nodedir=${prefix}`);
  }
  return [...args, ...extra];
}

function gyp(extra, sanitize = false) {
  // binding.gyp reads RINGWIRE_ASAN_BUILD to add -fsanitize=address,undefined.
  const env = { ...process.env, RINGWIRE_ASAN_BUILD: sanitize ? '1' : '0' };
  return spawnSync(process.execPath, gypArgs(extra), { stdio: 'inherit', env });
}

const result = gyp([], asan);
if (result.status !== 0) {
  const why = result.error ? result.error.message : `node-gyp exited with ${result.status}`;
  if (asan || process.env.RINGWIRE_REQUIRE_NATIVE === '1') {
    console.error(`ringwire: native build failed (${why})`);
    process.exit(1);
  }
  console.warn(`ringwire: native addon not built (${why}); the node:net transport will be used`);
  process.exit(0);
}
if (asan) {
  const out = join(here, 'build-asan');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  cpSync(join(here, 'build', 'Release', 'ringwire.node'), join(out, 'ringwire.node'));
  // Leave a normal build in place for everything else.
  const again = gyp([]);
  if (again.status !== 0) process.exit(1);
} else if (!existsSync(join(here, 'build', 'Release', 'ringwire.node'))) {
  console.warn('ringwire: node-gyp succeeded but build/Release/ringwire.node is missing');
}
