/** `ringwire --help`: the commands, and where each one's options are. */
export const USAGE = `Usage:
  ringwire serve [options]                      serve JSON-RPC 2.0 and MCP1
  ringwire call TARGET METHOD [PARAMS_JSON]     call a method, print the JSON result
  ringwire call TARGET --batch JSON             send a JSON-RPC batch, print each answer
  ringwire stats TARGET                         print a server's rpc.stats
  ringwire --version                            print ringwire's version

Each command's options: ringwire serve --help, ringwire call --help,
ringwire stats --help.

TARGET: unix:/path, /path, ./x.sock, tcp://host:port or host:port.
`;

/** `ringwire serve --help`. */
export const SERVE_HELP = `Usage: ringwire serve [options]

Serves JSON-RPC 2.0 (NDJSON, concatenated JSON, LSP Content-Length) and MCP1 on
every listener, with the same handlers.

Listeners:
  --unix PATH             listen on a Unix socket (repeatable)
  --tcp HOST:PORT         listen on TCP, e.g. 127.0.0.1:7070 or [::1]:7070 (repeatable)
                          neither given: the sockets systemd passed (socket
                          activation, LISTEN_FDS), else ./ringwire.sock and
                          127.0.0.1:7070
  --socket-mode OCTAL     Unix socket file mode, default 600
  --allow-uid UID         Unix sockets accept only peers of this uid, checked
                          before a byte is read (repeatable; native transport)
  --proxy-protocol        every listener expects a PROXY protocol header
  --transport native|net  socket layer (default: native where it loads)
  --io-backend auto|io_uring|epoll
                          native transport on Linux: io_uring or epoll
                          (default auto: io_uring where the kernel allows it;
                          RINGWIRE_IO_BACKEND=epoll in the environment forces
                          epoll)
  --processes N|auto      N server processes sharing every listener (auto: one
                          per core; default 1); a process that dies is started
                          again, SIGTERM drains them all

Handlers:
  --handlers MODULE       ESM module exporting the handlers (default: the demo
                          handlers echo, sum, ping, sleep, fail, stream)
  --workers N             run the handlers in N worker threads (default 0: inline)
  --concurrency N         handlers running at once, all connections together
                          (default: no limit)

Limits (docs/PROTOCOL.md section 4):
  --max-connections N     connections past N are accepted and closed (default 10000)
  --max-message-bytes BYTES
                          largest message (default 1048576)
  --detect-timeout MS     close a connection that has not shown its protocol
                          by then (default 5000)
  --message-timeout MS    close a connection that leaves a message unfinished
                          that long (default 30000)
  --max-in-flight N       requests in flight per connection before it stops
                          being read (default 256)
  --write-high-water BYTES
                          unsent output per connection before it stops being
                          read (default 1048576); a stream whose client stops
                          reading is cancelled past 16 times this
  --drain-timeout MS      on SIGTERM or SIGINT, how long in-flight requests may
                          take to finish (default 10000)
  --max-server-requests N requests a handler may have sent one client and not had
                          answered; past it the handler's request fails at once
                          (default 64)
  --server-request-timeout MS
                          how long a handler's request to its client waits for the
                          answer (default 30000)

Reporting:
  --stats-every S         log a one-line summary every S seconds
  --expose-stats          answer the rpc.stats method (see ringwire stats)
  --metrics HOST:PORT     serve Prometheus metrics at http://HOST:PORT/metrics;
                          port 0 picks a free one, logged as "metrics on URL"
  --log-format pretty|json
                          pretty: one line for people, "ringwire: MESSAGE"
                          (other levels than info: "ringwire: LEVEL: MESSAGE");
                          json: pino's JSON lines (default pretty)
  --log-level LEVEL       fatal, error, warn, info, debug, trace or silent
                          (default info); debug adds each connection's open
                          and close and each protocol violation

Logs at info and below go to stdout, warn and above to stderr. At info: the
listeners, the drain and the stop; nothing per request. A handler that fails
unexpectedly (throws anything but an RpcError) is answered -32603 and logged at
warn with its method and code: at most 10 lines a second, then a count of the rest.

SIGTERM or SIGINT drains in-flight requests (up to --drain-timeout), then exits 0;
a second signal stops at once with exit 1. Under systemd (NOTIFY_SOCKET) it
notifies READY=1 once listening and STOPPING=1 when draining.
`;

/** `ringwire call --help`. */
export const CALL_HELP = `Usage:
  ringwire call TARGET METHOD [PARAMS_JSON] [options]
  ringwire call TARGET --batch JSON [options]

Calls METHOD with PARAMS_JSON (a JSON array or object) and prints the result as
one line of JSON. An error reply is printed on stderr, exit 1.

Notifications the server sends while the answer is awaited are printed on
stderr as they arrive, one JSON line each, e.g. {"method":"countdown","params":[2]}
(docs/PROTOCOL.md section 6). A request from the server is answered -32601:
call has no handlers of its own.

Options:
  --protocol jsonrpc|lsp|mcp1   default jsonrpc
  --json                        MCP1 with JSON payloads instead of MessagePack
  --timeout MS                  give up after MS milliseconds, connecting
                                included (default 10000): exit 1
  --notify                      send METHOD as a notification: nothing is
                                answered, nothing printed; exit 0 once written
  --batch JSON                  send one JSON-RPC batch (jsonrpc and lsp only;
                                MCP1 has no batches), e.g.
                                '[{"method":"sum","params":[1,2]},{"method":"ping"}]'
                                A member with "notify": true is a notification.
                                Prints one line per answered member, in the
                                batch's order: {"result":...} or {"error":{...}};
                                exit 1 if any is an error.

TARGET: unix:/path, /path, ./x.sock, tcp://host:port or host:port.
`;

/** `ringwire stats --help`. */
export const STATS_HELP = `Usage: ringwire stats TARGET [options]

Calls rpc.stats and prints the server's counters as JSON. The server answers it
only when started with --expose-stats.

Options:
  --protocol jsonrpc|lsp|mcp1   default jsonrpc
  --json                        MCP1 with JSON payloads instead of MessagePack
  --timeout MS                  give up after MS milliseconds (default 10000)

TARGET: unix:/path, /path, ./x.sock, tcp://host:port or host:port.
`;

/** Each command's own help, by command name. */
export const COMMAND_HELP: Readonly<Record<string, string>> = { serve: SERVE_HELP, call: CALL_HELP, stats: STATS_HELP };
