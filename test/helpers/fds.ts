import { readdirSync } from 'node:fs';
import { sleep } from './wait.js';

/** Open file descriptors of this process (Linux /proc). */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * Waits up to `timeoutMs` for the fd count to come down to `max` (closes finish a
 * loop turn or two after 'close' events), and returns the last count seen.
 */
export async function settledFdCount(max: number, timeoutMs = 3000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let count = openFdCount();
  while (count > max && Date.now() < deadline) {
    await sleep(20);
    count = openFdCount();
  }
  return count;
}
