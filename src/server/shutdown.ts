import type { TransportServer } from '../transport/types.js';
import type { ConnectionTracker } from './tracker.js';

/** After the drain, how long ended connections get to flush before they are cut. */
export const FLUSH_TIMEOUT_MS = 2000;

/** What `server.close()` reports. */
export interface CloseResult {
  /** Requests still in flight when `drainTimeoutMs` ran out (their connections were closed). */
  readonly unanswered: number;
  /** True when the drain timed out. */
  readonly timedOut: boolean;
}

/**
 * Graceful shutdown (PROTOCOL.md section 4): stop accepting; stop reading, so no
 * new request starts; end each connection as soon as its last answer is written;
 * after `drainTimeoutMs`, end the rest (their handlers are aborted); then close.
 */
export async function drain(
  transport: TransportServer,
  tracker: ConnectionTracker,
  inFlight: () => number,
  drainTimeoutMs: number,
): Promise<CloseResult> {
  // stopAccepting() closes the listeners before it returns its promise; pause reading
  // at once, not after the socket file is removed, or requests sent meanwhile are read.
  const stopping = transport.stopAccepting();
  tracker.drain(transport.connections);
  await stopping;
  const timedOut = await within(tracker.whenIdle(), drainTimeoutMs);
  const unanswered = timedOut ? inFlight() : 0;
  for (const conn of transport.connections) tracker.endDrained(conn);
  await within(allClosed(transport), FLUSH_TIMEOUT_MS);
  return { unanswered, timedOut };
}

/** Resolves true if `ms` passed before `promise` settled. */
function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(true), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

function allClosed(transport: TransportServer): Promise<void> {
  if (transport.connections.size === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const subscription = transport.connections$.subscribe((event) => {
      if (event.type === 'close' && transport.connections.size === 0) {
        subscription.unsubscribe();
        resolve();
      }
    });
  });
}
