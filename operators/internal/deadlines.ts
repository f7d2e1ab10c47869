/**
 * Timeouts of many connections, each with ONE scheduled action per operator
 * subscription. Two shapes, because their owners use them differently:
 * - {@link DeadlineQueue}, for framing and the PROXY header: a connection starts a
 *   deadline for every message split across reads, so cancelled entries must be
 *   reclaimed while the connection lives; entries are objects, compacted away.
 * - {@link DeadlineRing}, for detection: one deadline per connection in its whole
 *   life, so cleared entries cannot pile up and a position can be the handle:
 *   nothing is allocated per connection, and the clock is read once per task.
 * @module
 */
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';

/** A handle to one queued deadline; `value` is cleared when it is cancelled. */
export interface Deadline<T> {
  value: T | undefined;
  readonly at: number;
}

/**
 * Timeouts for many connections with ONE scheduled action per operator subscription.
 *
 * Every deadline is "now + the same delay", so deadlines arrive in order and a FIFO
 * is already sorted: the action only ever waits for the head. Cancelling is O(1)
 * (the entry is cleared and skipped later); cleared entries are compacted away once
 * they outnumber the live ones, so a busy connection that keeps starting and
 * finishing split messages cannot grow the queue without bound.
 */
export class DeadlineQueue<T> {
  private items: Array<Deadline<T>> = [];
  private head = 0;
  private cancelled = 0;
  private action: Subscription | undefined = undefined;
  private disposed = false;
  /** Inside expire(): it re-arms for the head when done, so add() must not arm a later one. */
  private firing = false;

  /**
   * @param scheduler Whose clock and timers to use (a TestScheduler in marble specs).
   * @param delayMs Time from `add()` to expiry. `Infinity` disables the queue.
   * @param onExpire Called once per expired, uncancelled entry, in order.
   */
  constructor(
    private readonly scheduler: SchedulerLike,
    readonly delayMs: number,
    private readonly onExpire: (value: T) => void,
  ) {}

  /** Queues `value` to expire `delayMs` from now. Returns undefined when timeouts are off. */
  add(value: T): Deadline<T> | undefined {
    if (this.disposed || this.delayMs === Infinity) return undefined;
    const entry: Deadline<T> = { value, at: this.scheduler.now() + this.delayMs };
    this.items.push(entry);
    if (this.action === undefined && !this.firing) this.arm(this.delayMs);
    return entry;
  }

  /** Forgets an entry (its connection finished in time, or ended). */
  cancel(entry: Deadline<T> | undefined): void {
    if (entry === undefined || entry.value === undefined) return;
    entry.value = undefined;
    this.cancelled++;
    const live = this.items.length - this.head - this.cancelled;
    if (this.cancelled > 64 && this.cancelled > live) this.compact();
  }

  /** Stops the timer and drops every entry (the operator was unsubscribed). */
  dispose(): void {
    this.disposed = true;
    this.action?.unsubscribe();
    this.action = undefined;
    this.items = [];
    this.head = 0;
    this.cancelled = 0;
  }

  private arm(delay: number): void {
    this.action = this.scheduler.schedule(fire, delay > 0 ? delay : 0, this as DeadlineQueue<unknown>);
  }

  /** @internal Runs when the head's deadline is due. */
  expire(): void {
    this.action = undefined;
    const now = this.scheduler.now();
    this.firing = true;
    while (!this.disposed && this.head < this.items.length) {
      const entry = this.items[this.head]!;
      if (entry.value === undefined) {
        this.items[this.head++] = undefined as unknown as Deadline<T>;
        this.cancelled--;
        continue;
      }
      if (entry.at > now) break;
      this.items[this.head++] = undefined as unknown as Deadline<T>;
      const value = entry.value;
      entry.value = undefined;
      // May re-enter add()/cancel()/dispose(): state is consistent at this point.
      this.onExpire(value);
    }
    this.firing = false;
    if (this.disposed) return;
    if (this.head >= this.items.length) {
      this.items = [];
      this.head = 0;
      this.cancelled = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.compact();
    }
    if (this.action === undefined && this.head < this.items.length) {
      this.arm(this.items[this.head]!.at - now);
    }
  }

  private compact(): void {
    const kept: Array<Deadline<T>> = [];
    for (let i = this.head; i < this.items.length; i++) {
      const entry = this.items[i]!;
      if (entry.value !== undefined) kept.push(entry);
    }
    this.items = kept;
    this.head = 0;
    this.cancelled = 0;
  }
}

function fire(this: SchedulerAction<DeadlineQueue<unknown>>, queue: DeadlineQueue<unknown>): void {
  queue.expire();
}

/** Opens left unstamped before the clock is read anyway (bounds memory and lateness in a long task). */
const MAX_UNSTAMPED = 256;
/** A scheduler whose `now()` is this close to `Date.now()` at subscription runs on the wall clock. */
const WALL_CLOCK_SLACK_MS = 1000;

/**
 * One deadline per connection, for detection: a FIFO of (value, time) in two
 * parallel ring arrays, with ONE scheduled action, that allocates nothing per entry.
 *
 * `add()` returns a token (the entry's position); the owner keeps it in its own
 * per-connection slot and passes it to `clear()` when the connection decides. An
 * entry is never looked up otherwise: `onExpire(value, token)` gets the token back
 * so that the owner can check that the connection is still in the state that
 * registered it (a connection that ended without clearing is simply skipped there).
 * Each value is added at most once in its life, so cleared entries cannot pile up:
 * the ring holds at most the connections opened within the last `delayMs`, and a
 * cleared entry at the tail (decided in the same task that opened it) is dropped at
 * once.
 *
 * The clock: on a wall-clock scheduler, reading `now()` costs more than the rest of
 * detection, so entries are stamped in bulk when the current task ends (a
 * microtask), or after {@link MAX_UNSTAMPED} opens; a connection decided within the
 * task that opened it never needs the clock. A deadline is thus late by at most the
 * rest of the synchronous task that opened it (timers cannot fire during it anyway),
 * never early. Any other clock (a TestScheduler's virtual time) is read at every
 * `add()`, so deadlines are exact.
 */
export class DeadlineRing<T> {
  private values: Array<T | undefined> = new Array<T | undefined>(64).fill(undefined);
  private times = new Float64Array(64);
  private mask = 63;
  /** Absolute positions: [head, stamped) have times, [stamped, tail) wait for one. */
  private head = 0;
  private stamped = 0;
  private tail = 0;
  private action: Subscription | undefined = undefined;
  private disposed = false;
  private firing = false;
  private stampQueued = false;
  private readonly wallClock: boolean;
  private readonly stampTask = (): void => {
    this.stampQueued = false;
    if (!this.disposed && this.stamped < this.tail) this.stamp();
  };

  /**
   * @param scheduler Whose clock and timers to use (a TestScheduler in marble specs).
   * @param delayMs Time from `add()` to expiry. `Infinity` disables the ring.
   * @param onExpire Called once per expired, uncleared entry, in order.
   */
  constructor(
    private readonly scheduler: SchedulerLike,
    readonly delayMs: number,
    private readonly onExpire: (value: T, token: number) => void,
  ) {
    this.wallClock = delayMs !== Infinity && Math.abs(scheduler.now() - Date.now()) < WALL_CLOCK_SLACK_MS;
  }

  /** Queues `value` to expire `delayMs` from now. Returns its token, or -1 when timeouts are off. */
  add(value: T): number {
    if (this.disposed || this.delayMs === Infinity) return -1;
    if (this.tail - this.head > this.mask) this.grow();
    const token = this.tail++;
    this.values[token & this.mask] = value;
    if (!this.wallClock || this.tail - this.stamped >= MAX_UNSTAMPED) this.stamp();
    else if (!this.stampQueued) {
      this.stampQueued = true;
      queueMicrotask(this.stampTask);
    }
    return token;
  }

  /** Forgets the entry `token` (its connection decided in time). */
  clear(token: number): void {
    if (token < this.head || token >= this.tail) return;
    const values = this.values;
    const mask = this.mask;
    values[token & mask] = undefined;
    let tail = this.tail;
    while (tail > this.head && values[(tail - 1) & mask] === undefined) tail--;
    this.tail = tail;
    if (this.stamped > tail) this.stamped = tail;
  }

  /** Stops the timer and drops every entry (the operator was unsubscribed). */
  dispose(): void {
    this.disposed = true;
    this.action?.unsubscribe();
    this.action = undefined;
    this.values = [];
    this.head = this.stamped = this.tail = 0;
  }

  private stamp(): void {
    const now = this.scheduler.now();
    const times = this.times;
    const mask = this.mask;
    for (let i = this.stamped; i < this.tail; i++) times[i & mask] = now;
    this.stamped = this.tail;
    if (this.action !== undefined || this.firing) return;
    // Cleared entries at the head need no wake-up of their own.
    while (this.head < this.stamped && this.values[this.head & mask] === undefined) this.head++;
    if (this.head < this.stamped) this.arm(times[this.head & mask]! + this.delayMs - now);
  }

  private grow(): void {
    const size = (this.mask + 1) * 2;
    const values = new Array<T | undefined>(size).fill(undefined);
    const times = new Float64Array(size);
    for (let i = this.head; i < this.tail; i++) {
      values[i & (size - 1)] = this.values[i & this.mask];
      times[i & (size - 1)] = this.times[i & this.mask]!;
    }
    this.values = values;
    this.times = times;
    this.mask = size - 1;
  }

  private arm(delay: number): void {
    this.action = this.scheduler.schedule(fireRing, delay > 0 ? delay : 0, this as DeadlineRing<unknown>);
  }

  /** @internal Runs when the head's deadline is due. */
  expire(): void {
    this.action = undefined;
    const now = this.scheduler.now();
    this.firing = true;
    while (!this.disposed && this.head < this.stamped) {
      const at = this.head & this.mask;
      const value = this.values[at];
      if (value !== undefined) {
        if (this.times[at]! + this.delayMs > now) break;
        this.values[at] = undefined;
      }
      const token = this.head++;
      // May re-enter add()/clear()/dispose(): state is consistent at this point.
      if (value !== undefined) this.onExpire(value, token);
    }
    this.firing = false;
    if (this.disposed) return;
    if (this.head === this.tail && this.mask >= 1024) {
      // Empty after a burst: give the memory back.
      this.values = new Array<T | undefined>(64).fill(undefined);
      this.times = new Float64Array(64);
      this.mask = 63;
    }
    if (this.action !== undefined || this.head >= this.stamped) return;
    this.arm(this.times[this.head & this.mask]! + this.delayMs - now);
  }
}

function fireRing(this: SchedulerAction<DeadlineRing<unknown>>, ring: DeadlineRing<unknown>): void {
  ring.expire();
}
