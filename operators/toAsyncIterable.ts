import { AbortError } from 'ix/aborterror';
import { AsyncIterableX } from 'ix/asynciterable';
import type { Observable, Subscription } from 'rxjs';
import { type Connection, PauseReason } from '../src/core/connection.js';
import { OptionsError } from '../src/core/errors.js';
import type { PipelineRecord } from '../src/core/records.js';

/** Options of {@link toAsyncIterable}. */
export interface ToAsyncIterableOptions {
  /** Records buffered for one connection above which its reading pauses. Default 64. */
  readonly highWater?: number;
}

/**
 * The pull bridge: turns a stream of records into an IxJS `AsyncIterableX` for
 * `for await`. Records that arrive while the loop body is busy are buffered; when
 * more than `highWater` of one connection's records wait, that connection's
 * reading pauses (`PauseReason.Pull`) until the loop has taken it below half of
 * `highWater`. So a slow consumer slows the clients that feed it, and nothing is
 * dropped.
 *
 * Each iteration subscribes on its first `next()`. Leaving the loop (`break`,
 * `return`, a throw) unsubscribes and lifts the pauses it made; an error of the
 * stream is thrown into the loop after the records before it; an AbortSignal given
 * by IxJS operators ends the iteration with an `AbortError`.
 *
 * ```
 * records$:  --a--b--c--|
 * for await: a, b, c, then the loop ends
 * ```
 *
 * @example
 * ```ts
 * const requests$ = frames$.pipe(decodeJsonRpc(), filter((r) => r.type === 'request'));
 * for await (const request of toAsyncIterable(requests$)) {
 *   await audit.write(request.method); // reading pauses while this lags
 * }
 * ```
 * @param source The records to iterate.
 * @param options See {@link ToAsyncIterableOptions}.
 * @return An async iterable of the records, in order.
 */
export function toAsyncIterable<T extends PipelineRecord>(source: Observable<T>, options: ToAsyncIterableOptions = {}): AsyncIterableX<T> {
  const highWater = options.highWater ?? 64;
  if (!(highWater >= 1)) throw new OptionsError(`toAsyncIterable(): highWater must be at least 1, got ${highWater}`);
  return new PullIterable(source, highWater);
}

class PullIterable<T extends PipelineRecord> extends AsyncIterableX<T> {
  constructor(
    private readonly source: Observable<T>,
    private readonly highWater: number,
  ) {
    super();
  }
  [Symbol.asyncIterator](signal?: AbortSignal): AsyncIterator<T> {
    return new PullIterator(this.source, this.highWater, signal);
  }
}

interface Waiter<T> {
  resolve(result: IteratorResult<T>): void;
  reject(err: unknown): void;
}

const DONE: IteratorResult<never> = Object.freeze({ done: true, value: undefined });

class PullIterator<T extends PipelineRecord> implements AsyncIterator<T> {
  private subscription: Subscription | undefined = undefined;
  private started = false;
  /** Set once the stream completed, errored, or the iteration was left or aborted. */
  private ended = false;
  private failure: { error: unknown } | undefined = undefined;
  private readonly buffer: Array<T | undefined> = [];
  private head = 0;
  private readonly waiters: Array<Waiter<T>> = [];
  private readonly buffered = new Map<Connection, number>();
  private readonly paused = new Set<Connection>();
  private readonly onAbort = (): void => this.abort();

  constructor(
    private readonly source: Observable<T>,
    private readonly highWater: number,
    private readonly signal: AbortSignal | undefined,
  ) {}

  next(): Promise<IteratorResult<T>> {
    if (!this.started) this.start();
    if (this.head < this.buffer.length) return Promise.resolve({ done: false, value: this.take() });
    if (this.failure !== undefined) {
      const { error } = this.failure;
      this.failure = undefined;
      return Promise.reject(error);
    }
    if (this.ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.started = true;
    this.close();
    return Promise.resolve(DONE);
  }

  private start(): void {
    this.started = true;
    if (this.signal?.aborted) {
      this.failure = { error: new AbortError() };
      this.ended = true;
      return;
    }
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.subscription = this.source.subscribe({
      next: (record) => this.push(record),
      error: (error: unknown) => this.terminate({ error }),
      complete: () => this.terminate(undefined),
    });
    // A source that ended synchronously left nothing to unsubscribe from.
    if (this.ended) this.subscription.unsubscribe();
  }

  private push(record: T): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve({ done: false, value: record });
      return;
    }
    this.buffer.push(record);
    const connection = record.connection;
    const count = (this.buffered.get(connection) ?? 0) + 1;
    this.buffered.set(connection, count);
    if (count > this.highWater && !this.paused.has(connection)) {
      this.paused.add(connection);
      connection.pause(PauseReason.Pull);
    }
  }

  private take(): T {
    const record = this.buffer[this.head]!;
    this.buffer[this.head++] = undefined;
    if (this.head === this.buffer.length) {
      this.buffer.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.buffer.length) {
      this.buffer.splice(0, this.head);
      this.head = 0;
    }
    const connection = record.connection;
    const count = this.buffered.get(connection)! - 1;
    if (count === 0) this.buffered.delete(connection);
    else this.buffered.set(connection, count);
    if (count < this.highWater / 2 && this.paused.delete(connection)) connection.resume(PauseReason.Pull);
    return record;
  }

  /** The stream ended: waiters (there are only waiters when nothing is buffered) learn it now. */
  private terminate(failure: { error: unknown } | undefined): void {
    this.ended = true;
    this.subscription = undefined;
    this.signal?.removeEventListener('abort', this.onAbort);
    const waiters = this.waiters.splice(0);
    if (failure !== undefined && waiters.length > 0) waiters.shift()!.reject(failure.error);
    else this.failure = failure;
    for (const waiter of waiters) waiter.resolve(DONE);
  }

  private abort(): void {
    const waiters = this.waiters.splice(0);
    this.close();
    const error = new AbortError();
    if (waiters.length === 0) this.failure = { error };
    else waiters.shift()!.reject(error);
    for (const waiter of waiters) waiter.resolve(DONE);
  }

  /** Leaves the iteration: unsubscribes, drops the buffer, lifts every pause made here. */
  private close(): void {
    this.ended = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    const subscription = this.subscription;
    this.subscription = undefined;
    subscription?.unsubscribe();
    this.buffer.length = 0;
    this.head = 0;
    this.buffered.clear();
    for (const connection of this.paused) connection.resume(PauseReason.Pull);
    this.paused.clear();
    for (const waiter of this.waiters.splice(0)) waiter.resolve(DONE);
  }
}
