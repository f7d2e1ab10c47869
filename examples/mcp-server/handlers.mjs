// examples/mcp-server/handlers.mjs: a Model Context Protocol server as a ringwire handler module.
// Run `node bin/ringwire.js serve --handlers examples/mcp-server/handlers.mjs --unix ./mcp.sock`;
// docs/MCP.md walks through it.
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionClosedError, ErrorCode, RpcError, ServerRequestTimeoutError, WriteBackpressureError } from 'ringwire';

/** Newest first: a client that asks for none of these is answered with the newest. */
const PROTOCOL_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];
const SERVER_INFO = { name: 'ringwire-mcp-example', version: '1.0.0' };

const BUILT_IN_TOOLS = [
  {
    name: 'count',
    description: 'Counts from 1 to n, reporting progress at every step when asked to',
    inputSchema: {
      type: 'object',
      properties: {
        n: { type: 'integer', minimum: 1, maximum: 1000 },
        delayMs: { type: 'integer', minimum: 0, maximum: 1000, description: 'pause before each step' },
      },
      required: ['n'],
    },
  },
  {
    name: 'list-roots',
    description: "Asks the client for its roots (roots/list) and lists them: needs the client's roots capability",
    inputSchema: { type: 'object', properties: {} },
  },
  {
    name: 'define',
    description: 'Adds a tool that replies with the given text; every initialized client is told the tool list changed',
    inputSchema: {
      type: 'object',
      properties: { name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' }, text: { type: 'string', maxLength: 1000 } },
      required: ['name', 'text'],
    },
  },
];
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** Any client may define tools for all of them: a bound keeps that from growing the server without end. */
const MAX_DEFINED = 32;

/** Tools added by `define`, name to reply: one list for the whole process, shared by every client. */
const defined = new Map();

/**
 * The sessions of initialized clients, held weakly: ringwire drops a connection's
 * session when the connection closes, and with nothing else holding it the entry
 * here goes too, so a closed client is never kept.
 */
const clients = new Set();
const forget = new FinalizationRegistry((ref) => clients.delete(ref));

function initialize(params, ctx) {
  const { protocolVersion, capabilities, clientInfo } = params ?? {};
  if (typeof protocolVersion !== 'string' || !isObject(capabilities) || !isObject(clientInfo)) {
    throw new RpcError(ErrorCode.InvalidParams, 'initialize needs protocolVersion, capabilities and clientInfo');
  }
  const session = ctx.session;
  if (session.protocolVersion !== undefined) throw new RpcError(ErrorCode.InvalidRequest, 'Already initialized');
  session.protocolVersion = PROTOCOL_VERSIONS.includes(protocolVersion) ? protocolVersion : PROTOCOL_VERSIONS[0];
  session.clientCapabilities = capabilities;
  session.clientInfo = clientInfo;
  session.initialized = false;
  return { protocolVersion: session.protocolVersion, capabilities: { tools: { listChanged: true } }, serverInfo: SERVER_INFO };
}

function onInitialized(_params, ctx) {
  const session = ctx.session;
  if (session.protocolVersion === undefined || session.initialized) return;
  session.initialized = true;
  // This context stays usable after its handler returns, until the connection
  // closes: it is the way back to this client when the tool list changes.
  session.notify = (method, params) => ctx.notify(method, params);
  const ref = new WeakRef(session);
  clients.add(ref);
  forget.register(session, ref);
}

function listTools(_params, ctx) {
  requireInitialize(ctx);
  const added = [...defined.keys()].map((name) => ({
    name,
    description: 'Replies with the text it was defined with',
    inputSchema: { type: 'object', properties: {} },
  }));
  return { tools: [...BUILT_IN_TOOLS, ...added] };
}

function callTool(params, ctx) {
  requireInitialize(ctx);
  const { name, arguments: args = {}, _meta } = params ?? {};
  if (typeof name !== 'string' || !isObject(args)) {
    throw new RpcError(ErrorCode.InvalidParams, 'tools/call needs a tool name and an arguments object');
  }
  if (name === 'count') return count(args, ctx, _meta?.progressToken);
  if (name === 'list-roots') return listRoots(ctx);
  if (name === 'define') return define(args);
  if (defined.has(name)) return text(defined.get(name));
  // An unknown tool is a protocol error; a known tool that fails is a result with isError (MCP's tools page).
  throw new RpcError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
}

async function count({ n, delayMs = 0 }, ctx, progressToken) {
  if (!isInteger(n, 1, 1000) || !isInteger(delayMs, 0, 1000)) return toolError('count needs n from 1 to 1000 (delayMs: 0 to 1000)');
  const reportsProgress = typeof progressToken === 'string' || typeof progressToken === 'number';
  for (let i = 1; i <= n; i++) {
    // Rejects when the client disconnects: ringwire then answers nothing.
    if (delayMs > 0) await sleep(delayMs, undefined, { signal: ctx.signal });
    if (!reportsProgress) continue;
    try {
      ctx.notify('notifications/progress', { progressToken, progress: i, total: n });
    } catch (error) {
      // A client that has not read what it was sent misses this step; the next one says more anyway.
      if (!(error instanceof WriteBackpressureError)) throw error;
    }
  }
  return text(`Counted to ${n}`);
}

async function listRoots(ctx) {
  const session = ctx.session;
  // MCP: no server requests before notifications/initialized, and roots/list only to a client that declared roots.
  if (!session.initialized) return toolError('The client has not sent notifications/initialized');
  if (session.clientCapabilities.roots === undefined) return toolError('The client did not declare the roots capability');
  let answer;
  try {
    answer = await ctx.request('roots/list', undefined, { timeoutMs: 10_000 });
  } catch (error) {
    if (error instanceof RpcError) return toolError(`The client refused roots/list: ${error.message}`);
    if (error instanceof ServerRequestTimeoutError) return toolError('The client did not answer roots/list within 10 s');
    throw error;
  }
  const roots = Array.isArray(answer?.roots) ? answer.roots.filter((root) => typeof root?.uri === 'string') : [];
  if (roots.length === 0) return text('The client has no roots');
  return text(roots.map((root) => (typeof root.name === 'string' ? `${root.uri} (${root.name})` : root.uri)).join('\n'));
}

function define({ name, text: reply }) {
  if (typeof name !== 'string' || !TOOL_NAME.test(name) || typeof reply !== 'string' || reply.length > 1000) {
    return toolError('define needs a name of 1 to 64 letters, digits, _ . or -, and a text of at most 1000 characters');
  }
  if (BUILT_IN_TOOLS.some((tool) => tool.name === name)) return toolError(`${name} is built in`);
  if (!defined.has(name) && defined.size >= MAX_DEFINED) return toolError(`At most ${MAX_DEFINED} tools can be defined`);
  defined.set(name, reply);
  return text(`Defined ${name}; told ${toolListChanged()} client(s) the tool list changed`);
}

/** Sends notifications/tools/list_changed to every initialized client still connected; returns how many. */
function toolListChanged() {
  let told = 0;
  for (const ref of clients) {
    const session = ref.deref();
    if (session === undefined) {
      clients.delete(ref);
      continue;
    }
    try {
      session.notify('notifications/tools/list_changed');
      told++;
    } catch (error) {
      // Closed: forget it now rather than at the next collection. Not reading: it misses this change.
      if (error instanceof ConnectionClosedError) clients.delete(ref);
      else if (!(error instanceof WriteBackpressureError)) throw error;
    }
  }
  return told;
}

/** Before initialize a client may only ping (MCP's lifecycle), and the tools need what initialize negotiated. */
function requireInitialize(ctx) {
  if (ctx.session.protocolVersion === undefined) throw new RpcError(ErrorCode.InvalidRequest, 'Not initialized: send initialize first');
}

function text(value) {
  return { content: [{ type: 'text', text: value }] };
}

function toolError(message) {
  return { content: [{ type: 'text', text: message }], isError: true };
}

function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isInteger(value, min, max) {
  return Number.isInteger(value) && value >= min && value <= max;
}

// MCP's method names are not identifiers: the handlers are the members of the default
// export. Every exported function would be a method too, so the helpers above stay private.
export default {
  initialize,
  'notifications/initialized': onInitialized,
  ping: () => ({}),
  'tools/list': listTools,
  'tools/call': callTool,
};
