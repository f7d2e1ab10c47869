// npm run test:asan: runs the native transport's tests against the AddressSanitizer
// + UBSan build (native/build-asan/). Node itself is not instrumented, so the ASan
// runtime is preloaded. Leak detection is off: node's own exit-time allocations
// would drown any report; heap misuse (overflows, use-after-free, double free) and
// undefined behaviour abort the run with a report. The --processes specs are in:
// their server processes inherit the environment, so they load the ASan build too,
// and the shared-socket accept waiter (a thread) runs there. On Linux the native and
// transport specs run a second time on the epoll loop.
import { spawnSync } from 'node:child_process';

const cc = process.env.CC ?? 'gcc';
const lib = (name) => spawnSync(cc, [`-print-file-name=${name}`], { encoding: 'utf8' }).stdout.trim();
const preload = [lib('libasan.so'), lib('libubsan.so')].filter((p) => p.startsWith('/')).join(' ');
if (!preload.includes('libasan')) {
  console.error('ringwire: cannot find libasan.so (install gcc with its sanitizer runtimes)');
  process.exit(1);
}
const files = process.argv.slice(2);
const specs = files.length
  ? files
  : ['test/native', 'test/transport', 'test/cli/cli-processes.spec.ts', 'test/server/serve-processes.spec.ts'];
// Linux runs both loops: the default (io_uring where the kernel allows it) over every
// spec, then epoll (RINGWIRE_IO_BACKEND) over the native and transport ones.
const passes = [{ name: 'default io backend', specs, env: {} }];
if (process.platform === 'linux' && !files.length) {
  passes.push({ name: 'epoll', specs: ['test/native', 'test/transport'], env: { RINGWIRE_IO_BACKEND: 'epoll' } });
}
for (const pass of passes) {
  console.log(`== test:asan, ${pass.name}: ${pass.specs.join(' ')}`);
  const result = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...pass.specs], {
    stdio: 'inherit',
    env: {
      ...process.env,
      ...pass.env,
      LD_PRELOAD: preload,
      RINGWIRE_ASAN: '1',
      RINGWIRE_TRANSPORTS: 'native',
      ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:halt_on_error=1',
      UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
    },
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
