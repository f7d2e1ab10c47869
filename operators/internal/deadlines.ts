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
