import type { Connection } from '../src/core/connection.js';
import { ConnectionMap, reserveSlot } from '../src/core/slots.js';

/** Where each connection keeps its count. */
const SLOT = reserveSlot();

/**
 * Requests in flight, per connection and in all: THE count, kept by backpressure()
 * and read by whoever else needs it (the server's drain and half-close handling),
 * so that no request is counted twice. A request counts from when it enters
 * backpressure()'s inner stages until its `final` reply has left them and gone
 * downstream.
 *
 * Give one to backpressure() (`{ count }`) to read it from outside; one count
 * serves one subscription, which clears it when it ends.
 *
 * @example
 * ```ts
 * const count = new InFlightCount((connection) => console.log(`${connection.id} has nothing in flight`));
 * records$.pipe(backpressure(pipe(route(handlers), handle()), { count })).subscribe(write);
 * setInterval(() => console.log(`${count.total} requests in flight`), 1000);
 * ```
 */
export class InFlightCount {
  private readonly counts = new ConnectionMap<number>(SLOT);
  private sum = 0;

  /**
   * @param onIdle Called each time a connection's count drops back to 0, after the
   *   reply that did it has gone downstream (been encoded and written, in a server).
   */
  constructor(private readonly onIdle?: (connection: Connection) => void) {}

  /** Requests in flight on `connection`. */
  of(connection: Connection): number {
    return this.counts.get(connection) ?? 0;
  }

  /** Requests in flight on every connection. */
  get total(): number {
    return this.sum;
  }

  /** One more on `connection`; returns its count. */
  add(connection: Connection): number {
    const count = (this.counts.get(connection) ?? 0) + 1;
    this.counts.set(connection, count);
    this.sum++;
    return count;
  }

  /** One fewer on `connection`; returns its count, or -1 when it had none counted (forgotten). */
  remove(connection: Connection): number {
    const count = this.counts.get(connection);
    if (count === undefined) return -1;
    this.sum--;
    if (count > 1) {
      this.counts.set(connection, count - 1);
      return count - 1;
    }
    this.counts.delete(connection);
    this.onIdle?.(connection);
    return 0;
  }

  /** Drops `connection`'s count: it closed, and its requests will never be answered. */
  forget(connection: Connection): void {
    const count = this.counts.get(connection);
    if (count === undefined) return;
    this.sum -= count;
    this.counts.delete(connection);
  }

  /** Drops every count. */
  clear(): void {
    this.counts.clear();
    this.sum = 0;
  }
}
