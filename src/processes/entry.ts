/**
 * A server process of {@link serveProcesses}: the primary starts `node entry.js`
 * with its setup (listeners, server options) in the environment.
 * @module
 */
import { createServer } from '../server/createServer.js';
import { PrimaryLink } from './child.js';

const link = PrimaryLink.fromEnv();
if (link === undefined) {
  process.stderr.write('ringwire: this module is a server process of serveProcesses(); its primary starts it\n');
  process.exit(2);
}
const options = link.setup.options ?? {};
const server = await createServer({
  ...options,
  listen: link.setup.listen,
  exposeStats: options.exposeStats ? () => link.gather() : false,
}).catch((error: unknown) => {
  // One line, the cause in it: the primary reports this process as failed to start.
  process.stderr.write(`ringwire: process ${link.setup.index}: cannot start: ${(error as Error)?.message ?? String(error)}\n`);
  process.exit(1);
});
let draining = false;
const drain = (): void => {
  if (draining) return;
  draining = true;
  void server.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`ringwire: process ${link.setup.index}: error while stopping: ${(error as Error)?.message ?? String(error)}\n`);
      process.exit(1);
    },
  );
};
// A signal straight to this process (a terminal's Ctrl-C, systemd's control group) drains like the primary's word.
process.on('SIGTERM', drain);
process.on('SIGINT', drain);
link.ready(server.listeners, {
  stats: () => server.stats(),
  metrics: () => server.metricsSnapshot(),
  drain,
  stopNow: () => process.exit(1),
});
