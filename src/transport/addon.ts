/**
 * The ONE module that loads the native addon; everything else imports it from here.
 * @module
 */

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's Poller, as native/src/addon.cc defines it. */
export interface NativePoller {
  readonly readBuffer: ArrayBuffer;
  readonly records: Int32Array;
  /** Small writes are copied here and handed over with writeStaged(). */
  readonly stageBuffer: ArrayBuffer;
  /** [slot, length] per staged write; writeStaged() puts each write's result in the length. */
  readonly stageRecords: Int32Array;
  /** `io_uring`, `epoll` or `kqueue`: the loop this poller runs. */
  readonly backend: string;
  /** Why `ioBackend: 'auto'` did not get io_uring; undefined when it did or was not asked. */
  readonly backendFallback: string | undefined;
  listenUnix(path: string, mode: number, backlog: number, allowUids: readonly number[] | null): number;
  listenTcp(host: string, port: number, backlog: number, reusePort: boolean, ipv6Only: boolean): [number, number];
  /** Adopts a listening socket: [listener id, family, address, port]. */
  listenFd(fd: number, allowUids: readonly number[] | null): [number, 'unix' | 'IPv4' | 'IPv6', string, number];
  closeListener(id: number): void;
  write(slot: number, bytes: Uint8Array): number;
  writeStaged(count: number): void;
  unsent(slot: number): number;
  setReading(slot: number, on: boolean): void;
  end(slot: number): void;
  close(slot: number): void;
  peer(slot: number): NativePeer | null;
  destroy(): void;
}

export interface NativePeer {
  family: 'IPv4' | 'IPv6' | 'unix';
  address?: string;
  port?: number;
  uid?: number;
  gid?: number;
  pid?: number;
}

export interface NativeAddon {
  readonly backend: string;
  /** A listening Unix socket watched by no loop, for child processes to accept on: its fd. */
  bindUnix(path: string, mode: number, backlog: number): number;
  /** The same for TCP: [fd, bound port]. */
  bindTcp(host: string, port: number, backlog: number, ipv6Only: boolean): [number, number];
  closeFd(fd: number): void;
  /** [family, address, port] of a socket (getsockname). */
  sockName(fd: number): ['unix' | 'IPv4' | 'IPv6', string, number];
  /** One datagram to a Unix datagram socket; a leading '@' is the abstract namespace. */
  sendDatagram(path: string, text: string): void;
  readonly Poller: new (
    onBatch: (count: number) => void,
    options: {
      readBufferBytes?: number;
      maxConnections?: number;
      writeHighWaterBytes?: number;
      ioBackend?: 'auto' | 'io_uring' | 'epoll';
    },
  ) => NativePoller;
}

/** Record types in the Int32Array batch (native/src/loop.h). */
export const Rec = { Open: 1, Data: 2, End: 3, Close: 4, Drain: 5, Reject: 6 } as const;

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'native'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the ringwire package root');
    dir = up;
  }
  return dir;
}

let loaded: NativeAddon | undefined;
let failure: Error | undefined;

/**
 * The addon, or the reason it cannot load. node-gyp-build picks a source build
 * (native/build/Release) where there is one, else the prebuild for this platform
 * (native/prebuilds/). RINGWIRE_ASAN=1 loads the sanitizer build instead.
 */
export function loadAddon(): NativeAddon | Error {
  if (loaded) return loaded;
  if (failure) return failure;
  try {
    const require = createRequire(import.meta.url);
    const native = join(packageRoot(), 'native');
    const file =
      process.env.RINGWIRE_ASAN === '1'
        ? join(native, 'build-asan', 'ringwire.node')
        : (require('node-gyp-build') as { path(dir: string): string }).path(native);
    if (!existsSync(file)) throw new Error(`${file} is not built (run npm run build:native)`);
    loaded = require(file) as NativeAddon;
    return loaded;
  } catch (error) {
    const cause = error instanceof Error ? error : new Error(String(error));
    // node-gyp-build's message runs over several lines; the first says it all.
    failure = new Error(cause.message.split('\n')[0]!.trim(), { cause });
    return failure;
  }
}
