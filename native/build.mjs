// `npm run build:native`: builds the addon from source with node-gyp, and fails
// loudly where it cannot. `--asan` builds an AddressSanitizer + UBSan copy into
// native/build-asan/ (and leaves a normal build in native/build/).
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BUILT, gypRebuild, NATIVE_DIR } from './gyp.mjs';

const asan = process.argv.includes('--asan');
const first = gypRebuild({ sanitize: asan });
if (!first.ok) {
  console.error(`ringwire: native build failed (${first.why})`);
  process.exit(1);
}
if (asan) {
  const out = join(NATIVE_DIR, 'build-asan');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  cpSync(BUILT, join(out, 'ringwire.node'));
  const again = gypRebuild();
  if (!again.ok) {
    console.error(`ringwire: native build failed (${again.why})`);
    process.exit(1);
  }
}
