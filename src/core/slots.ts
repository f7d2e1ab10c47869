/**
 * Per-connection state slots: room on every connection (`reserveSlot`, `newSlots`) and the `ConnectionMap` over it.
 *
 * The operators' per-connection state lives in a small array on the connection
 * (docs/ARCHITECTURE.md: one pipeline for all connections, state in small plain
 * slots), so that a record's state is one indexed load away, not a Map lookup.
 * @module
 */
import type { Connection } from './connection.js';

/** Positions handed out so far; each kind of state takes two (owner, value). */
let positions = 0;

/**
 * Reserves a place in every connection's `slots` array for one kind of
 * per-connection state (detection, partial frame, in-flight count). Call once per
 * kind, at module load, so that connections created later get arrays of the right
 * size from {@link newSlots}.
 *
 * @example
 * ```ts
 * const SEEN = reserveSlot();
 * const seen = new ConnectionMap<number>(SEEN);
 * ```
 */
export function reserveSlot(): number {
  const at = positions;
  positions += 2;
  return at;
}

/**
 * A new connection's `slots` array, sized for every kind reserved so far. A
 * `Connection` implemented outside ringwire may carry one to make operators faster.
 *
 * @example
 * ```ts
 * class MyConnection implements Connection { readonly slots = newSlots(); ... }
 * ```
 */
export function newSlots(): unknown[] {
  return new Array<unknown>(positions).fill(undefined);
}

/** Whose a slot's value is: one per {@link ConnectionMap} life (a `clear()` retires it). */
interface Owner {
  live: boolean;
}

/**
 * A `Map<Connection, T>` for the one pipeline's hot path: the value lives in the
 * connection's own `slots` array, at a position reserved for its kind, tagged with
 * its owner. Measured on a connection's open, first bytes and end: 3 Map operations
 * cost ~140 ns through RxJS on Node 20, these ~20 ns (bench/RESULTS.md).
 *
 * Two subscriptions of the same operator over the same connection (two pipelines on
 * one server) must not see each other's state: the slot holds its owner, and a
 * connection whose slot another live owner holds, or that has no `slots` (a
 * user-made Connection), falls back to an ordinary Map. After `clear()` the old
 * owner is retired, so its stale values are ignored and overwritten.
 *
 * @example
 * ```ts
 * import { ConnectionMap, reserveSlot } from 'ringwire/operators';
 * const SEEN = reserveSlot(); // once, at module load
 * // defer: one map per subscription; tap passes every record on, errors and completion too.
 * const countBytes: OperatorFunction<PipelineRecord, PipelineRecord> = (source) =>
 *   defer(() => {
 *     const seen = new ConnectionMap<number>(SEEN);
 *     return source.pipe(
 *       tap((r) => {
 *         if (r.type === 'data') seen.set(r.connection, (seen.get(r.connection) ?? 0) + r.bytes.length);
 *         else if (r.type === 'end') seen.delete(r.connection);
 *       }),
 *     );
 *   });
 * ```
 */
export class ConnectionMap<T> {
  private owner: Owner = { live: true };
  private readonly fallback = new Map<Connection, T>();

  /** @param at A position from `reserveSlot()`. */
  constructor(private readonly at: number) {}

  get(connection: Connection): T | undefined {
    const slots = connection.slots;
    if (slots !== undefined && slots[this.at] === this.owner) return slots[this.at + 1] as T;
    return this.fallback.size === 0 ? undefined : this.fallback.get(connection);
  }

  has(connection: Connection): boolean {
    const slots = connection.slots;
    if (slots !== undefined && slots[this.at] === this.owner) return true;
    return this.fallback.size !== 0 && this.fallback.has(connection);
  }

  set(connection: Connection, value: T): void {
    const slots = connection.slots;
    if (slots !== undefined) {
      const holder = slots[this.at] as Owner | undefined;
      if (holder === this.owner || holder === undefined || !holder.live) {
        slots[this.at] = this.owner;
        slots[this.at + 1] = value;
        if (holder !== this.owner && this.fallback.size !== 0) this.fallback.delete(connection);
        return;
      }
    }
    this.fallback.set(connection, value);
  }

  delete(connection: Connection): void {
    const slots = connection.slots;
    if (slots !== undefined && slots[this.at] === this.owner) {
      slots[this.at] = undefined;
      slots[this.at + 1] = undefined;
    } else if (this.fallback.size !== 0) {
      this.fallback.delete(connection);
    }
  }

  /** Forgets every value. Values left in connections' slots are retired, not visited. */
  clear(): void {
    this.owner.live = false;
    this.owner = { live: true };
    this.fallback.clear();
  }
}
