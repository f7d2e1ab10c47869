/**
 * The node:net transport: the fallback where the native addon cannot load, and the
 * baseline every benchmark compares the native transport against. Same interface,
 * same rules (see ./base.ts); only the I/O underneath differs.
 * @module
 */
import { chmod, lstat } from 'node:fs/promises';
import { type AddressInfo, createServer, isIPv6, type Server, type Socket } from 'node:net';
import type { ListenerInfo, PeerInfo } from '../core/connection.js';
import { ListenError, OptionsError, UnsupportedError } from '../core/errors.js';
import { loadAddon } from './addon.js';
import { adoptedListener } from './adopted.js';
import { BaseTransport, TransportConnection, type TransportIo } from './base.js';
import { listenFailure } from './listenFailure.js';
import type { FdListen, ListenOptions, ListenTarget, TcpListen, TransportServer, UnixListen } from './types.js';
import { errnoOf, type PathLock, prepareUnixPath, removeSocketFile, withUmask } from './unixPath.js';

/** Default of `ListenOptions.maxConnections`. */
export const DEFAULT_MAX_CONNECTIONS = 10_000;
/** Default of `ListenOptions.writeHighWaterBytes`. */
export const DEFAULT_WRITE_HIGH_WATER_BYTES = 1 << 20;
/** Default file mode of a Unix socket. */
export const DEFAULT_UNIX_MODE = 0o600;
/** Default TCP host: loopback only unless told otherwise. */
export const DEFAULT_TCP_HOST = '127.0.0.1';

// The connection rides on its socket so that one set of handler functions, shared by
// every socket, finds it through `this`: no closure per connection.
const kConn = Symbol('ringwire.connection');
const kError = Symbol('ringwire.error');

interface NetSocket extends Socket {
  [kConn]: TransportConnection;
  [kError]?: string;
}

interface Bound {
  readonly server: Server;
  readonly info: ListenerInfo;
  /** Inode of the bound socket file, so shutdown removes only our own file. */
  ino?: number;
  /** An fd passed in: its socket file (if any) is not ours to remove. */
  adopted?: boolean;
}

const socketOf = (conn: TransportConnection): Socket => conn.handle as Socket;

function uncork(socket: Socket): void {
  socket.uncork();
}

const netIo: TransportIo<TransportConnection> = {
  setReading(conn, on) {
    const socket = socketOf(conn);
    if (on) socket.resume();
    else socket.pause();
  },

  write(conn, bytes) {
    const socket = socketOf(conn);
    if (bytes.byteLength === 0 || socket.destroyed || socket.writableEnded) return socket.writableLength;
    // One writev per connection per loop turn, however many records were written.
    if (socket.writableCorked === 0) {
      socket.cork();
      process.nextTick(uncork, socket);
    }
    // node:net keeps a reference to what it has not sent yet; the caller may reuse its bytes.
    const copy = Buffer.allocUnsafe(bytes.byteLength);
    copy.set(bytes);
    socket.write(copy);
    return socket.writableLength;
  },

  writableLength(conn) {
    return socketOf(conn).writableLength;
  },

  end(conn) {
    // With allowHalfOpen, node closes the socket once the peer has finished too.
    socketOf(conn).end();
  },

  close(conn) {
    socketOf(conn).destroy();
  },

  peer(conn): PeerInfo {
    if (conn.listener.kind === 'unix') return { family: 'unix', address: conn.listener.address, port: 0 };
    const socket = socketOf(conn);
    const address = socket.remoteAddress ?? '';
    const family = socket.remoteFamily === 'IPv6' || isIPv6(address) ? 'IPv6' : 'IPv4';
    return { family, address, port: socket.remotePort ?? 0 };
  },
};

class NetTransport extends BaseTransport<TransportConnection> {
  readonly kind = 'net' as const;
  readonly ioBackend = 'net';
  readonly io = netIo;
  readonly listeners: ListenerInfo[] = [];
  private readonly bound: Bound[] = [];
  /** Locks on our socket paths, held while we listen on them. */
  private readonly locks: PathLock[] = [];
  private stopping: Promise<void> | undefined = undefined;
  private closing: Promise<void> | undefined = undefined;
  private whenEmpty: (() => void) | undefined = undefined;

  constructor(
    private readonly maxConnections: number,
    writeHighWaterBytes: number,
  ) {
    super(writeHighWaterBytes);
  }

  /** Binds one target; on failure nothing of this target is left listening. */
  async open(target: ListenTarget, index: number): Promise<void> {
    if ('fd' in target) return this.openFd(target, index);
    const isUnix = 'unix' in target;
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: !isUnix });
    let listener: ListenerInfo | undefined;
    // Attached before listening: a client accepted while a later await (chmod) is
    // pending must not land on a server with no 'connection' handler, unread forever.
    server.on('connection', (socket: Socket) => this.accept(socket as NetSocket, listener));
    if (isUnix) {
      const path = target.unix;
      const mode = target.mode ?? DEFAULT_UNIX_MODE;
      const name = `unix:${path}`;
      const lock = await prepareUnixPath(path);
      this.locks.push(lock);
      // listen() binds synchronously in this process, so the umask covers the bind.
      await whenListening(server, name, () => withUmask(mode, () => server.listen({ path, backlog: target.backlog })), path);
      listener = { index, kind: 'unix', name, address: path, port: 0, proxyProtocol: target.proxyProtocol === true };
      const bound = this.listening(server, listener);
      try {
        await chmod(path, mode);
        bound.ino = (await lstat(path)).ino;
      } catch (error) {
        throw new ListenError(name, errnoOf(error) ?? 'EIO', error instanceof Error ? error.message : String(error));
      }
    } else {
      const host = target.host ?? DEFAULT_TCP_HOST;
      const name = `tcp:${isIPv6(host) ? `[${host}]` : host}:${target.port}`;
      await whenListening(server, name, () =>
        server.listen({
          host,
          port: target.port,
          backlog: target.backlog,
          ipv6Only: target.ipv6Only === true,
          // Node 22.12+ reads it; the check in listenNet keeps older Nodes from ignoring it.
          ...(target.reusePort === true ? { reusePort: true } : {}),
        }),
      );
      const address = server.address() as AddressInfo;
      const shown = isIPv6(address.address) ? `[${address.address}]` : address.address;
      listener = {
        index,
        kind: 'tcp',
        name: `tcp:${shown}:${address.port}`,
        address: address.address,
        port: address.port,
        proxyProtocol: target.proxyProtocol === true,
      };
      this.listening(server, listener);
    }
  }

  /** Adopts a listening socket; its name comes from getsockname (through the addon, when it loads). */
  private async openFd(target: FdListen, index: number): Promise<void> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
    let listener: ListenerInfo | undefined;
    server.on('connection', (socket: Socket) => {
      if (listener?.kind === 'tcp') socket.setNoDelay(true);
      this.accept(socket as NetSocket, listener);
    });
    // listen() is called again on the fd: Node's default backlog (511) would shrink the
    // one its maker chose (systemd's Backlog=, the primary's); the kernel caps this at somaxconn.
    await whenListening(server, `fd:${target.fd}`, () => server.listen({ fd: target.fd, backlog: ADOPTED_BACKLOG }));
    const got = server.address();
    const addon = loadAddon();
    if (typeof got === 'object' && got !== null) {
      listener = adoptedListener(index, target, got.family, got.address, got.port);
    } else {
      const [family, address] = addon instanceof Error ? (['unix', ''] as const) : addon.sockName(target.fd);
      listener = adoptedListener(index, target, family, address, 0);
    }
    this.listening(server, listener).adopted = true;
  }

  /** Must run in the same turn as 'listening': no I/O has been polled in between. */
  private listening(server: Server, info: ListenerInfo): Bound {
    // accept(2) failing (EMFILE, ENFILE): libuv has already refused that client; the
    // listener itself goes on. An unhandled 'error' would kill the process.
    server.on('error', () => this.rejected++);
    const bound: Bound = { server, info };
    this.bound.push(bound);
    this.listeners.push(info);
    return bound;
  }

  private accept(socket: NetSocket, listener: ListenerInfo | undefined): void {
    if (listener === undefined || this.closing !== undefined || this.connections.size >= this.maxConnections) {
      this.rejected++;
      socket.destroy();
      return;
    }
    const conn = new TransportConnection(this, this.newId(), listener, socket);
    socket[kConn] = conn;
    socket
      .on('data', NetTransport.onData)
      .on('end', NetTransport.onEnd)
      .on('error', NetTransport.onError)
      .on('close', NetTransport.onClose)
      .on('drain', NetTransport.onDrain);
    this.opened(conn);
    // pauseOnConnect: nothing is read until demand says so (no subscriber yet, or
    // whoever handled the open record paused it).
    if (conn.pausedBy === 0 && !conn.closed) socket.resume();
  }

  private static onData(this: NetSocket, chunk: Buffer): void {
    const conn = this[kConn];
    (conn.transport as NetTransport).data(conn, chunk);
  }

  private static onEnd(this: NetSocket): void {
    const conn = this[kConn];
    (conn.transport as NetTransport).inputEnd(conn);
  }

  private static onError(this: NetSocket, error: Error): void {
    // 'close' follows; it reports the first error, which is the cause.
    this[kError] ??= errnoOf(error) ?? 'EIO';
  }

  private static onClose(this: NetSocket): void {
    const conn = this[kConn];
    const transport = conn.transport as NetTransport;
    transport.closed(conn, this[kError]);
    if (transport.whenEmpty !== undefined && transport.connections.size === 0) {
      const resolve = transport.whenEmpty;
      transport.whenEmpty = undefined;
      resolve();
    }
  }

  private static onDrain(this: NetSocket): void {
    const conn = this[kConn];
    (conn.transport as NetTransport).drained(conn);
  }

  stopAccepting(): Promise<void> {
    return (this.stopping ??= this.stopListeners());
  }

  close(): Promise<void> {
    return (this.closing ??= this.closeAll());
  }

  private async stopListeners(): Promise<void> {
    // server.close() stops accepting at once (and libuv unlinks a pipe's path); its
    // callback would wait for every connection, which stopAccepting must not.
    for (const { server } of this.bound) if (server.listening) server.close();
    await Promise.all(
      this.bound.map(({ info, ino, adopted }) => (info.kind === 'unix' && !adopted ? removeSocketFile(info.address, ino) : undefined)),
    );
    for (const lock of this.locks.splice(0)) lock.release();
  }

  private async closeAll(): Promise<void> {
    await this.stopAccepting();
    if (this.connections.size > 0) {
      const empty = new Promise<void>((resolve) => (this.whenEmpty = resolve));
      for (const conn of this.connections) socketOf(conn).destroy();
      await empty;
    }
    this.finish();
  }
}

function whenListening(server: Server, name: string, start: () => void, unixPath?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // Node's text ("listen EADDRINUSE: address already in use 127.0.0.1:7070") names the call, the errno and the address.
    const fail = (error: unknown, fallback: string): void => {
      const detail = error instanceof Error ? error.message.replace(/^\w+ E[A-Z]+: /, '') : String(error);
      void listenFailure(name, errnoOf(error) ?? fallback, detail, unixPath).then(reject, reject);
    };
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      fail(error, 'EIO');
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError).once('listening', onListening);
    try {
      start();
    } catch (error) {
      server.off('error', onError).off('listening', onListening);
      if (error instanceof Error) fail(error, 'EINVAL');
      else reject(error);
    }
  });
}

/** The backlog node:net asks for on an adopted socket: as large as the kernel allows. */
const ADOPTED_BACKLOG = 65535;

/** Whether node:net here binds SO_REUSEPORT (`listen({ reusePort })`: Node 22.12+ and 23.1+). */
export function netReusePort(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/**
 * Checks `ListenOptions` for what any transport needs; throws {@link OptionsError}.
 *
 * @example
 * ```ts
 * checkListenOptions({ listen: [{ port: 0 }] }); // fine
 * checkListenOptions({ listen: [] });            // throws OptionsError
 * ```
 */
export function checkListenOptions(options: ListenOptions): void {
  if (!Array.isArray(options.listen) || options.listen.length === 0) {
    throw new OptionsError('listen: give at least one target ({ unix } or { port })');
  }
  const positiveInteger = (value: number | undefined, what: string, min: number): void => {
    if (value !== undefined && (!Number.isInteger(value) || value < min)) {
      throw new OptionsError(`${what}: expected an integer >= ${min}, got ${String(value)}`);
    }
  };
  positiveInteger(options.maxConnections, 'maxConnections', 1);
  positiveInteger(options.writeHighWaterBytes, 'writeHighWaterBytes', 0);
  positiveInteger(options.readBufferBytes, 'readBufferBytes', 1);
  options.listen.forEach((target: ListenTarget, i) => {
    if ('fd' in target) {
      if (!Number.isInteger(target.fd) || target.fd < 0)
        throw new OptionsError(`listen[${i}].fd: expected a file descriptor, got ${String(target.fd)}`);
      return;
    }
    if ('unix' in target) {
      const unix = target as UnixListen;
      if (typeof unix.unix !== 'string' || unix.unix === '') throw new OptionsError(`listen[${i}].unix: expected a path`);
      if (unix.mode !== undefined && (!Number.isInteger(unix.mode) || unix.mode < 0 || unix.mode > 0o777)) {
        throw new OptionsError(`listen[${i}].mode: expected permission bits such as 0o600`);
      }
    } else {
      const tcp = target as TcpListen;
      if (!Number.isInteger(tcp.port) || tcp.port < 0 || tcp.port > 65535) {
        throw new OptionsError(`listen[${i}].port: expected 0..65535, got ${String(tcp.port)}`);
      }
    }
    positiveInteger(target.backlog, `listen[${i}].backlog`, 1);
  });
}

/**
 * Opens the listeners of `options` with node:net. Rejects with {@link ListenError}
 * (bind or listen failed), `AddressInUseError` / `NotASocketError` (Unix path rules)
 * or {@link UnsupportedError} (`reusePort`, `allowUids`: node:net cannot do them);
 * after a rejection nothing is left listening.
 *
 * @example
 * ```ts
 * const server = await listenNet({ listen: [{ unix: '/tmp/echo.sock' }, { port: 0 }] });
 * server.slices$.subscribe((r) => { if (r.type === 'data') r.connection.write(r.bytes); });
 * ```
 */
export async function listenNet(options: ListenOptions): Promise<TransportServer> {
  checkListenOptions(options);
  for (const target of options.listen) {
    if (('unix' in target || 'fd' in target) && target.allowUids !== undefined) {
      throw new UnsupportedError('allowUids needs the native transport (node:net cannot read SO_PEERCRED)');
    }
    if ('port' in target && target.reusePort === true && !netReusePort()) {
      throw new UnsupportedError(
        `reusePort needs the native transport or Node 22.12+ (node:net on ${process.version} has no SO_REUSEPORT)`,
      );
    }
  }
  const transport = new NetTransport(
    options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    options.writeHighWaterBytes ?? DEFAULT_WRITE_HIGH_WATER_BYTES,
  );
  try {
    for (const [index, target] of options.listen.entries()) await transport.open(target, index);
  } catch (error) {
    await transport.close();
    throw error;
  }
  return transport;
}
