import type { ServerNotification } from '../client/client.js';

/**
 * Prints a notification from the server as one JSON line on stderr, e.g.
 * `{"method":"countdown","params":[2]}` (no `params` when it had none): stdout
 * stays the answer alone, for scripts that read it.
 */
export function printNotification({ method, params }: ServerNotification): void {
  process.stderr.write(JSON.stringify(params === undefined ? { method } : { method, params }) + '\n');
}
