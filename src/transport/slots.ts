/**
 * Room on every connection for the operators' per-connection state (docs/ARCHITECTURE.md: one
 * pipeline for all connections, state in small plain slots). The array lives on the
 * connection so that a record's state is one indexed load away, not a Map lookup.
 * @module
 */

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
