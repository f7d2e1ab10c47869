#!/usr/bin/env node
// The `ringwire` command. Runs the compiled CLI (npm install / npm run build make dist/).
import { main } from '../dist/src/cli/main.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Exit even if a stray handle (a peer that never closed) would keep the loop alive.
setTimeout(() => process.exit(code), 1000).unref();
