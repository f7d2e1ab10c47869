import { createHash, type Hash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { ListenerInfo } from '../../src/core/connection.js';
import { waitUntil } from './wait.js';

/** Where a client connects: a Unix path or a TCP host and port. */
export type Address = { readonly path: string } | { readonly host: string; readonly port: number };

export function addressOf(listener: ListenerInfo): Address {
  return listener.kind === 'unix' ? { path: listener.address } : { host: listener.address, port: listener.port };
}

export interface RawClientOptions {
  /** Start reading at once (default true); false: nothing is read until `startReading()`. */
  readonly read?: boolean;
  /** Keep received chunks for `bytes()`/`text()` (default true); the hash and count are always kept. */
  readonly keep?: boolean;
  /** Keep the write side open after the server's FIN (default false, as node:net). */
  readonly allowHalfOpen?: boolean;
}

const live = new Set<RawClient>();

/**
 * A node:net client that records what it receives, for specs: byte count, SHA-256,
 * chunks, end, close and the socket error. Every client is destroyed by
 * {@link destroyClients}.
 */
export class RawClient {
  readonly chunks: Buffer[] = [];
  received = 0;
  ended = false;
  closed = false;
  error: NodeJS.ErrnoException | undefined = undefined;
  private readonly hash: Hash = createHash('sha256');
  private readonly keep: boolean;
  private reading = false;

  private constructor(
    readonly socket: Socket,
    options: RawClientOptions,
  ) {
    this.keep = options.keep ?? true;
    live.add(this);
    socket.on('error', (error: NodeJS.ErrnoException) => (this.error ??= error));
    socket.on('end', () => (this.ended = true));
    socket.on('close', () => {
      this.closed = true;
      live.delete(this);
    });
    if (options.read === false) socket.pause();
    else this.startReading();
  }

  static connect(to: ListenerInfo | Address, options: RawClientOptions = {}): Promise<RawClient> {
    const address = 'kind' in to ? addressOf(to) : to;
    return new Promise((resolve, reject) => {
      const socket = connect({ ...address, allowHalfOpen: options.allowHalfOpen ?? false });
      const client = new RawClient(socket, options);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(client);
      });
      socket.once('error', reject);
    });
  }

  startReading(): void {
    if (this.reading) return;
    this.reading = true;
    this.socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      this.hash.update(chunk);
      if (this.keep) this.chunks.push(chunk);
    });
    this.socket.resume();
  }

  /** Writes and resolves once node:net has handed the bytes to the kernel. */
  send(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  /**
   * Writes `bytes` in `chunkSize` pieces, waiting for 'drain' whenever node:net's
   * buffer is full, the way a well-behaved producer streams a large body.
   */
  async sendAll(bytes: Uint8Array, chunkSize = 64 * 1024): Promise<void> {
    for (let at = 0; at < bytes.length; at += chunkSize) {
      if (this.closed) throw new Error(`closed after sending ${at} of ${bytes.length} bytes`);
      if (!this.socket.write(bytes.subarray(at, at + chunkSize))) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            this.socket.off('drain', done).off('close', done);
            resolve();
          };
          this.socket.on('drain', done).on('close', done);
        });
      }
    }
  }

  /** SHA-256 of everything received so far (call once, at the end). */
  digest(): string {
    return this.hash.digest('hex');
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  text(): string {
    return this.bytes().toString('utf8');
  }

  waitForBytes(count: number, timeoutMs?: number): Promise<void> {
    return waitUntil(() => this.received >= count || this.closed, `${count} bytes (have ${this.received})`, timeoutMs).then(() => {
      if (this.received < count) throw new Error(`closed after ${this.received} of ${count} bytes`);
    });
  }

  waitForText(text: string, timeoutMs?: number): Promise<void> {
    return this.waitForBytes(Buffer.byteLength(text), timeoutMs);
  }

  waitForEnd(timeoutMs?: number): Promise<void> {
    return waitUntil(() => this.ended, 'the server to end the stream', timeoutMs);
  }

  waitForClose(timeoutMs?: number): Promise<void> {
    return waitUntil(() => this.closed, 'the connection to close', timeoutMs);
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Destroys every client still open (afterEach). */
export function destroyClients(): void {
  for (const client of live) client.destroy();
  live.clear();
}

/** SHA-256 of `bytes`, to compare with {@link RawClient.digest}. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
