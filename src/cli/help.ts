/** `ringwire --help`. */
export const USAGE = `Usage:
  ringwire serve [options]                      serve JSON-RPC 2.0 and MCP1
  ringwire call TARGET METHOD [PARAMS_JSON]     call a method, print the JSON result
  ringwire stats TARGET                         print a server's rpc.stats

serve options:
  --unix PATH             listen on a Unix socket (repeatable)
  --tcp HOST:PORT         listen on TCP, e.g. 127.0.0.1:7070 or [::1]:7070 (repeatable)
                          neither given: ./ringwire.sock and 127.0.0.1:7070
  --handlers MODULE       ESM module exporting the handlers (default: the demo
                          handlers echo, sum, ping, sleep, fail, stream)
  --workers N             run the handlers in N worker threads
  --transport native|net  socket layer (default: native where it loads)
  --max-connections N     default 10000
  --max-message-bytes N   default 1048576
  --socket-mode OCTAL     Unix socket file mode, default 600
  --allow-uid UID         Unix sockets accept only peers of this uid, checked
                          before a byte is read (repeatable; native transport)
  --proxy-protocol        every listener expects a PROXY protocol header
  --stats-every S         print a one-line summary every S seconds
  --expose-stats          answer the rpc.stats method

call/stats options:
  --protocol jsonrpc|lsp|mcp1   default jsonrpc
  --json                        MCP1 with JSON payloads

TARGET: unix:/path, /path, ./x.sock, tcp://host:port or host:port.
SIGTERM or SIGINT drains in-flight requests (up to 10 s), then exits 0.
`;
