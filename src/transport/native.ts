import { lookup } from 'node:dns/promises';
import { constants as osConstants } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { type ListenerInfo, PauseReason, type PeerInfo } from '../core/connection.js';
import { IoBackendUnavailableError, type ListenError, NativeUnavailableError, OptionsError } from '../core/errors.js';
import { loadAddon, type NativeAddon, type NativePoller, Rec } from './addon.js';
import { adoptedListener } from './adopted.js';
import { BaseTransport, TransportConnection, type TransportIo } from './base.js';
import { listenFailure } from './listenFailure.js';
import type { FdListen, IoBackend, ListenOptions, ListenTarget, TcpListen, UnixListen } from './types.js';
import { type PathLock, prepareUnixPath, removeSocketFile } from './unixPath.js';

const errnoNames: string[] = [];
for (const [name, value] of Object.entries(osConstants.errno)) errnoNames[value] ??= name;

/** Why the native addon cannot be used here, or undefined when it can. */
export function nativeLoadError(): Error | undefined {
  const addon = loadAddon();
  return addon instanceof Error ? addon : undefined;
}

/**
 * Listens with the native epoll/kqueue transport.
 * @throws NativeUnavailableError where the addon is not built or cannot load.
 */
export async function listenNative(options: ListenOptions): Promise<NativeTransport> {
  const addon = loadAddon();
  if (addon instanceof Error) throw new NativeUnavailableError(addon.message, { cause: addon });
  const transport = new NativeTransport(addon, options);
  try {
    for (const [index, target] of options.listen.entries()) await transport.open(index, target);
  } catch (error) {
    await transport.close();
    throw error;
  }
  return transport;
}

const IO_BACKENDS: readonly IoBackend[] = ['auto', 'io_uring', 'epoll'];

/** The backend asked for: `RINGWIRE_IO_BACKEND` when set (an operator's override), else the option. */
export function ioBackendWanted(option: IoBackend | undefined): IoBackend {
  const env = process.env.RINGWIRE_IO_BACKEND;
  const wanted = env !== undefined && env !== '' ? env : (option ?? 'auto');
  if (!IO_BACKENDS.includes(wanted as IoBackend)) {
    const source = env !== undefined && env !== '' ? 'RINGWIRE_IO_BACKEND' : 'ioBackend';
    throw new OptionsError(`${source} must be one of ${IO_BACKENDS.join(', ')}, not ${JSON.stringify(wanted)}`);
  }
  return wanted as IoBackend;
}

function newPoller(
  addon: NativeAddon,
  onBatch: (count: number) => void,
  options: ConstructorParameters<NativeAddon['Poller']>[1],
): NativePoller {
  try {
    return new addon.Poller(onBatch, options);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'RINGWIRE_IO_URING_UNAVAILABLE') throw new IoBackendUnavailableError((error as Error).message, { cause: error });
    throw error;
  }
}

function slotOf(conn: TransportConnection): number {
  return conn.handle as number;
}

/** Writes at least this large skip the staging area: the copy would outweigh the call. */
const DIRECT_WRITE_BYTES = 16 * 1024;

/** A native connection also remembers what it has staged and what the addon holds. */
class NativeConnection extends TransportConnection {
  /** Bytes in the staging area, not yet handed to the addon. */
  staged = 0;
  /** The addon's unsent bytes as of the last hand-over. */
  unsent = 0;
}

/**
 * The native transport: sockets live in the addon (native/src/), which reads every
 * ready connection into one shared buffer and calls `onBatch` once per loop turn.
 */
export class NativeTransport extends BaseTransport<TransportConnection> {
  readonly kind = 'native' as const;
  readonly listeners: ListenerInfo[] = [];
  readonly io: TransportIo<TransportConnection>;
  readonly ioBackend: string;
  readonly ioBackendFallback: string | undefined;
  /** The same as {@link ioBackend}. */
  get backend(): string {
    return this.ioBackend;
  }
  private readonly poller: NativePoller;
  private readonly readMemory: ArrayBuffer;
  private readonly records: Int32Array;
  private readonly bySlot: Array<TransportConnection | undefined> = [];
  private readonly byNativeId: ListenerInfo[] = [];
  private readonly nativeIds: number[] = [];
  private readonly socketFiles: string[] = [];
  /** Locks on our socket paths, held while we listen on them. */
  private readonly locks: PathLock[] = [];
  private destroyed = false;
  private readonly stage: Uint8Array;
  private readonly stageRecords: Int32Array;
  private readonly stagedConns: NativeConnection[] = [];
  private stagedBytes = 0;
  private flushQueued = false;
  private readonly flushStagedNow = (): void => this.flushStaged();

  constructor(addon: NativeAddon, options: ListenOptions) {
    super(options.writeHighWaterBytes ?? 1 << 20);
    this.poller = newPoller(addon, (count) => this.onBatch(count), {
      readBufferBytes: options.readBufferBytes ?? 1 << 20,
      maxConnections: options.maxConnections ?? 10000,
      writeHighWaterBytes: this.writeHighWaterBytes,
      ioBackend: ioBackendWanted(options.ioBackend),
    });
    this.ioBackend = this.poller.backend;
    this.ioBackendFallback = this.poller.backendFallback;
    this.readMemory = this.poller.readBuffer;
    this.records = this.poller.records;
    this.stage = new Uint8Array(this.poller.stageBuffer);
    this.stageRecords = this.poller.stageRecords;
    const poller = this.poller;
    this.io = {
      setReading: (conn, on) => poller.setReading(slotOf(conn), on),
      write: (conn, bytes) => this.write(conn as NativeConnection, bytes),
      writableLength: (conn) => poller.unsent(slotOf(conn)) + (conn as NativeConnection).staged,
      end: (conn) => {
        this.flushStaged(); // its staged bytes go out before its FIN
        poller.end(slotOf(conn));
      },
      close: (conn) => {
        this.flushStaged(); // before the slot can ever be reused
        poller.close(slotOf(conn));
        this.forget(conn);
      },
      peer: (conn) => this.peerOf(conn),
    };
  }

  /**
   * Copies a small write into the staging area; the whole turn's writes reach the
   * addon in one call, from a microtask, so before the loop turn ends and before the
   * addon flushes sockets. Returns the connection's unsent bytes, staged included.
   */
  private write(conn: NativeConnection, bytes: Uint8Array): number {
    const n = bytes.length;
    if (n >= DIRECT_WRITE_BYTES) {
      this.flushStaged(); // keeps this connection's bytes in order
      const unsent = this.poller.write(slotOf(conn), bytes);
      if (unsent >= 0) conn.unsent = unsent;
      return conn.unsent;
    }
    const count = this.stagedConns.length;
    if (this.stagedBytes + n > this.stage.length || count * 2 >= this.stageRecords.length) this.flushStaged();
    const at = this.stagedConns.length;
    this.stage.set(bytes, this.stagedBytes);
    if (at > 0 && this.stagedConns[at - 1] === conn) {
      // Replies to one read's requests come back to back: one record, one append in the addon.
      this.stageRecords[at * 2 - 1] += n;
    } else {
      this.stageRecords[at * 2] = slotOf(conn);
      this.stageRecords[at * 2 + 1] = n;
      this.stagedConns.push(conn);
    }
    this.stagedBytes += n;
    conn.staged += n;
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushStagedNow);
    }
    // conn.unsent can only be stale-high (the addon drains between hand-overs and says
    // nothing below the high-water mark): ask before reporting a breach, or reading
    // would pause for a drain the addon never signals.
    if (conn.unsent + conn.staged > this.writeHighWaterBytes) conn.unsent = this.poller.unsent(slotOf(conn));
    return conn.unsent + conn.staged;
  }

  /** Hands every staged write to the addon (one N-API call). */
  private flushStaged(): void {
    this.flushQueued = false;
    const count = this.stagedConns.length;
    if (count === 0 || this.destroyed) return;
    this.poller.writeStaged(count);
    const records = this.stageRecords;
    for (let i = 0; i < count; i++) {
      const conn = this.stagedConns[i]!;
      conn.staged = 0;
      // Negative: closed or ended in the addon; its close record is on its way.
      const unsent = records[i * 2 + 1]!;
      if (unsent < 0) continue;
      conn.unsent = unsent;
      // Reading was paused with the staged bytes counted, but the addon sends at once
      // and marks a connection for a drain record only past the high-water mark:
      // at or under it there will be none, so reading resumes here.
      if ((conn.pausedBy & PauseReason.Write) !== 0 && unsent <= this.writeHighWaterBytes) this.drained(conn);
    }
    this.stagedConns.length = 0;
    this.stagedBytes = 0;
  }

  /** Opens listener `index`. */
  async open(index: number, target: ListenTarget): Promise<void> {
    if ('unix' in target) return this.openUnix(index, target);
    if ('fd' in target) return this.openFd(index, target);
    return this.openTcp(index, target);
  }

  private async openFd(index: number, target: FdListen): Promise<void> {
    let id: number;
    let family: string;
    let address: string;
    let port: number;
    try {
      [id, family, address, port] = this.poller.listenFd(target.fd, target.allowUids ?? null);
    } catch (error) {
      throw await listenError(`fd:${target.fd}`, error);
    }
    this.addListener(id, adoptedListener(index, target, family, address, port));
  }

  private async openUnix(index: number, target: UnixListen): Promise<void> {
    const path = resolvePath(target.unix);
    const mode = target.mode ?? 0o600;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw new OptionsError(`bad socket mode ${mode}`);
    // The addon reads an empty list as "no check": refuse it rather than fail open.
    if (target.allowUids !== undefined && target.allowUids.length === 0) {
      throw new OptionsError('allowUids must list at least one uid (omit it to accept every uid)');
    }
    this.locks.push(await prepareUnixPath(path));
    let id: number;
    try {
      id = this.poller.listenUnix(path, mode, target.backlog ?? 1024, target.allowUids ?? null);
    } catch (error) {
      throw await listenError(`unix:${path}`, error, path);
    }
    this.socketFiles.push(path);
    this.addListener(id, {
      index,
      kind: 'unix',
      name: `unix:${path}`,
      address: path,
      port: 0,
      proxyProtocol: target.proxyProtocol ?? false,
    });
  }

  private async openTcp(index: number, target: TcpListen): Promise<void> {
    const host = target.host ?? '127.0.0.1';
    const { address, family } = await lookup(host);
    let id: number;
    let port: number;
    try {
      [id, port] = this.poller.listenTcp(address, target.port, target.backlog ?? 1024, target.reusePort ?? false, target.ipv6Only ?? false);
    } catch (error) {
      throw await listenError(`tcp:${host.includes(':') ? `[${host}]` : host}:${target.port}`, error);
    }
    const shown = family === 6 ? `[${address}]` : address;
    this.addListener(id, {
      index,
      kind: 'tcp',
      name: `tcp:${shown}:${port}`,
      address,
      port,
      proxyProtocol: target.proxyProtocol ?? false,
    });
  }

  private addListener(nativeId: number, info: ListenerInfo): void {
    this.byNativeId[nativeId] = info;
    this.nativeIds.push(nativeId);
    this.listeners.push(info);
  }

  private peerOf(conn: TransportConnection): PeerInfo {
    const p = conn.closed ? null : this.poller.peer(slotOf(conn));
    if (conn.listener.kind === 'unix') {
      const info: PeerInfo = { family: 'unix', address: conn.listener.address, port: 0 };
      return p && p.uid !== undefined ? { ...info, uid: p.uid, gid: p.gid, pid: p.pid } : info;
    }
    if (!p || p.family === 'unix') return { family: 'IPv4', address: '', port: 0 };
    return { family: p.family, address: p.address ?? '', port: p.port ?? 0 };
  }

  /** One batch of records from the addon: [type, slot, a, b] each. */
  private onBatch(count: number): void {
    const records = this.records;
    const slots = this.bySlot;
    let failure: unknown;
    for (let i = 0; i < count; i++) {
      const o = i << 2;
      const slot = records[o + 1]!;
      try {
        switch (records[o]) {
          case Rec.Data: {
            const conn = slots[slot];
            if (conn !== undefined) {
              const start = records[o + 2]!;
              // By the constructor, not subarray() (see FramerContext.view in operators/internal/framer.ts).
              this.data(conn, new Uint8Array(this.readMemory, start, records[o + 3]!));
            }
            break;
          }
          case Rec.Open: {
            const conn = new NativeConnection(this, this.newId(), this.byNativeId[records[o + 2]!]!, slot);
            slots[slot] = conn;
            this.opened(conn);
            break;
          }
          case Rec.End: {
            const conn = slots[slot];
            if (conn !== undefined) this.inputEnd(conn);
            break;
          }
          case Rec.Close: {
            const conn = slots[slot];
            if (conn !== undefined) this.forget(conn, records[o + 2] ? errnoNames[records[o + 2]!] : undefined);
            break;
          }
          case Rec.Drain: {
            const conn = slots[slot] as NativeConnection | undefined;
            if (conn !== undefined) {
              conn.unsent = this.poller.unsent(slot);
              this.drained(conn);
            }
            break;
          }
          case Rec.Reject:
            this.rejected++;
            break;
        }
      } catch (error) {
        // One failing subscriber must not cost the rest of the batch its records.
        failure ??= error;
      }
    }
    if (failure !== undefined)
      queueMicrotask(() => {
        throw failure;
      });
  }

  private forget(conn: TransportConnection, error?: string): void {
    const slot = slotOf(conn);
    if (this.bySlot[slot] === conn) this.bySlot[slot] = undefined;
    this.closed(conn, error);
  }

  async stopAccepting(): Promise<void> {
    if (this.destroyed) return;
    for (const id of this.nativeIds.splice(0)) this.poller.closeListener(id);
    await Promise.all(this.socketFiles.splice(0).map((path) => removeSocketFile(path)));
    for (const lock of this.locks.splice(0)) lock.release();
  }

  async close(): Promise<void> {
    if (this.destroyed) return;
    await this.stopAccepting();
    for (const conn of [...this.connections]) conn.close();
    this.flushStaged();
    this.destroyed = true;
    this.poller.destroy();
    this.finish();
  }
}

/** The addon's failure to listen on `name`, in the words every transport uses (listenFailure). */
export function listenError(name: string, error: unknown, unixPath?: string): Promise<ListenError> {
  const errno = (error as { errno?: number }).errno;
  const errnoName = errno !== undefined ? (errnoNames[errno] ?? `errno ${errno}`) : 'EINVAL';
  // The addon's message names the listener too ("cannot listen on X: <strerror>"): keep the reason.
  const message = error instanceof Error ? error.message : String(error);
  const at = message.lastIndexOf(': ');
  return listenFailure(name, errnoName, at >= 0 ? message.slice(at + 2) : message, unixPath);
}
