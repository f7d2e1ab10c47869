// ringwire's install script. It never fails an install because of the addon:
// 1. a build that loads already (a prebuild shipped in the package for this
//    platform, or an earlier source build): nothing to do;
// 2. else a source build with node-gyp, where a compiler and node-gyp exist;
// 3. else one warning: ringwire then runs on its node:net transport.
// RINGWIRE_REQUIRE_NATIVE=1 (CI) makes 2's failure an error instead.
import { createRequire } from 'node:module';
import { gypRebuild, NATIVE_DIR } from './gyp.mjs';

const require = createRequire(import.meta.url);

/** Undefined when the addon loads through node-gyp-build, else why not. */
function loadError() {
  try {
    require(require('node-gyp-build').path(NATIVE_DIR));
    return undefined;
  } catch (error) {
    return String(error?.message ?? error).split('\n')[0];
  }
}

const required = process.env.RINGWIRE_REQUIRE_NATIVE === '1';
if (loadError() !== undefined) {
  const built = gypRebuild();
  const why = built.ok ? loadError() : built.why;
  if (why !== undefined) {
    if (required) {
      console.error(`ringwire: native build failed (${why})`);
      process.exit(1);
    }
    console.warn(`ringwire: native addon not available (${why}); the node:net transport will be used`);
  }
}
