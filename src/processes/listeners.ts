/**
 * What the primary of several server processes opens for them: every Unix listener
 * once, as a socket each process inherits and accepts on (the native transport
 * watches it with EPOLLEXCLUSIVE: one process woken per connection); every TCP
 * listener as SO_REUSEPORT sockets the processes bind themselves, so the kernel
 * spreads connections. Where a process cannot bind SO_REUSEPORT (node:net before
 * Node 22.12), TCP listeners are shared like Unix ones.
 * @module
 */
import { lookup } from 'node:dns/promises';
import { connect, isIPv6 } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { OptionsError } from '../core/errors.js';
import { loadAddon, type NativeAddon } from '../transport/addon.js';
import { listenFailure } from '../transport/listenFailure.js';
import { listenError } from '../transport/native.js';
import type { FdListen, ListenTarget, TcpListen } from '../transport/types.js';
import { type PathLock, prepareUnixPath, removeSocketFile } from '../transport/unixPath.js';

/** One listener as a server process opens it: an inherited fd, or its own SO_REUSEPORT socket. */
export type ProcessTarget = FdListen | TcpListen;

/** The fd a process finds the first shared socket at: after stdin, stdout, stderr and the IPC channel. */
export const FIRST_SHARED_FD = 4;

const DEFAULT_BACKLOG = 1024;

/** The sockets a primary holds for its processes. */
export class SharedListeners {
  /** Inherited by every process, in this order, from {@link FIRST_SHARED_FD}. */
  readonly fds: number[] = [];
  private readonly targets: Array<TcpListen | { shared: number; target: ListenTarget }> = [];
  private readonly socketFiles: string[] = [];
  private readonly locks: PathLock[] = [];

  private addonLoaded: NativeAddon | undefined;

  private constructor() {}

  /** The addon makes the shared sockets; only asked for when one is needed. */
  private get addon(): NativeAddon {
    if (this.addonLoaded) return this.addonLoaded;
    const addon = loadAddon();
    if (addon instanceof Error) {
      throw new OptionsError(
        `several processes sharing a Unix socket (or TCP on node:net before Node 22.12) need the native addon (${addon.message})`,
      );
    }
    this.addonLoaded = addon;
    return addon;
  }

  /**
   * Opens the shared sockets of `listen`. `reusePort`: whether the processes can bind
   * SO_REUSEPORT themselves (their transport can); otherwise TCP is shared too.
   * `socketMode`: the file mode of Unix sockets that do not set their own.
   * @throws OptionsError without the native addon, which makes the shared sockets.
   */
  static async open(listen: readonly ListenTarget[], reusePort: boolean, socketMode = 0o600): Promise<SharedListeners> {
    const shared = new SharedListeners();
    try {
      for (const target of listen) await shared.add(target, reusePort, socketMode);
    } catch (error) {
      await shared.close();
      throw error;
    }
    return shared;
  }

  private async add(target: ListenTarget, reusePort: boolean, socketMode: number): Promise<void> {
    const backlog = target.backlog ?? DEFAULT_BACKLOG;
    if ('fd' in target) {
      // Already a socket (systemd's): pass it on as it is.
      this.targets.push({ shared: this.fds.push(target.fd) - 1, target });
    } else if ('unix' in target) {
      const path = resolvePath(target.unix);
      this.locks.push(await prepareUnixPath(path));
      const fd = await this.bind(`unix:${path}`, () => this.addon.bindUnix(path, target.mode ?? socketMode, backlog), path);
      this.socketFiles.push(path);
      this.targets.push({ shared: this.fds.push(fd) - 1, target });
    } else if (reusePort) {
      if (target.port !== 0) await portFree(target);
      this.targets.push({ ...target, reusePort: true });
    } else {
      const host = target.host ?? '127.0.0.1';
      // bindTcp takes a numeric address, as the native transport's own listen does after its lookup.
      const { address } = await lookup(host);
      const [fd] = await this.bind(`tcp:${host}:${target.port}`, () =>
        this.addon.bindTcp(address, target.port, backlog, target.ipv6Only ?? false),
      );
      this.targets.push({ shared: this.fds.push(fd) - 1, target });
    }
  }

  private async bind<T>(name: string, open: () => T, unixPath?: string): Promise<T> {
    try {
      return open();
    } catch (error) {
      throw await listenError(name, error, unixPath);
    }
  }

  /**
   * The listen targets of one process. `ports` replaces TCP port 0 once the first
   * process has bound it, so that the others join the same SO_REUSEPORT group.
   */
  processTargets(ports: ReadonlyMap<number, number> = new Map()): ProcessTarget[] {
    return this.targets.map((t, index) => {
      if (!('shared' in t)) return { ...t, port: t.port === 0 ? (ports.get(index) ?? 0) : t.port };
      const { target } = t;
      const fd: FdListen = { fd: FIRST_SHARED_FD + t.shared };
      const proxyProtocol = target.proxyProtocol;
      const allowUids = 'port' in target ? undefined : target.allowUids;
      return { ...fd, ...(proxyProtocol === undefined ? {} : { proxyProtocol }), ...(allowUids === undefined ? {} : { allowUids }) };
    });
  }

  /** Whether a TCP listener asked for port 0 is bound by each process itself (its real port is learnt from the first). */
  get choosesPorts(): boolean {
    return this.targets.some((t) => !('shared' in t) && t.port === 0);
  }

  /** Stops new connections reaching the Unix sockets (their files go); the processes still hold the sockets. */
  async unlinkFiles(): Promise<void> {
    await Promise.all(this.socketFiles.splice(0).map((path) => removeSocketFile(path)));
  }

  /** Closes this process's copies and removes the socket files. */
  async close(): Promise<void> {
    await this.unlinkFiles();
    for (const fd of this.fds.splice(0)) {
      try {
        this.addon.closeFd(fd);
      } catch {
        // Already closed: nothing of ours is left open either way.
      }
    }
    for (const lock of this.locks.splice(0)) lock.release();
  }
}

/**
 * SO_REUSEPORT lets any process of the same user join a port's group: a second
 * server started on a port in use would silently take a share of the first one's
 * connections. A bind cannot tell (Linux lets a plain SO_REUSEADDR socket bind beside
 * listening SO_REUSEPORT ones: measured), so ask the port itself: if something
 * accepts a connection there, it is in use.
 */
async function portFree(target: TcpListen): Promise<void> {
  const host = target.host ?? '127.0.0.1';
  const name = `tcp:${isIPv6(host) ? `[${host}]` : host}:${target.port}`;
  // A wildcard address is reached through loopback.
  const at = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const answered = await new Promise<boolean>((resolve) => {
    const socket = connect({ host: at, port: target.port });
    const done = (inUse: boolean): void => {
      socket.destroy();
      resolve(inUse);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
  if (answered) throw await listenFailure(name, 'EADDRINUSE', 'a server already accepts connections there');
}

/** How long the port probe waits for a connection (loopback answers in well under this). */
const PROBE_TIMEOUT_MS = 1_000;
