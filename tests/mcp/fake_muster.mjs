// A fake muster (giantswarm/muster, the MCP aggregator) for the exporter's
// integration tests (tests/integration/muster_test.cc). It serves MCP
// streamable HTTP at /mcp with the official MCP TypeScript SDK, and a small
// control API at /control for the test.
//
//   node fake_muster.mjs --port=N [--mode=meta|direct] [--stateless] [--json]
//                        [--token-file=PATH]
//
// Prints "listening N" once 127.0.0.1:N accepts connections.
//
// Where each behaviour comes from (repository giantswarm/muster unless said
// otherwise; re-check there when muster changes):
// - The two generations. --mode=meta (muster >= v0.0.212): tools/list shows
//   only the 11 meta-tools of muster's MCP tools reference
//   (https://github.com/giantswarm/muster/blob/main/docs/reference/mcp-tools.md: "MCP clients see
//   only these 11 meta-tools"); internal/metatools/handlers.go ExecuteTool
//   dispatches them (newer versions add filter_resources / filter_prompts,
//   not listed here). --mode=direct (older muster): the core tools are MCP
//   tools themselves, named by internal/aggregator/tool_factory.go
//   prefixToolName ("service_list" -> "core_service_list").
// - A tools/call of a name the server does not list is a JSON-RPC error
//   -32602 "tool '<name>' not found: tool not found" (mcp-go
//   server/server.go handleToolCall, ErrToolNotFound), not an isError result.
//   The SDK's McpServer turns unknown tools into isError results, so this
//   uses the low-level Server and throws an error carrying the code.
// - call_tool: internal/metatools/handlers.go handleCallTool. Bad arguments
//   ("name argument is required", "arguments must be a JSON object") are a
//   plain error text (errorResult), no envelope. Otherwise the text content
//   is the envelope, Go's json.Marshal of the struct {isError, content,
//   structuredContent(omitempty)} (struct order: isError first), each
//   content item a map (SerializeContent in internal/metatools/formatters.go,
//   so "text" before "type"), with <, >, & escaped as \u003c \u003e \u0026.
//   The outer isError copies the inner one (muster >= v0.1.114) and the
//   outer structuredContent copies the inner tool's (core_service_list sets
//   none). An inner tool failure reads "Tool execution failed: <err>" inside
//   the envelope with isError true (internal/metatools/api_adapter.go
//   CallTool; tool_factory.go createToolHandler for the direct tools).
// - The list: internal/orchestrator/api_adapter.go handleServiceList, a map
//   {"services": [...], "total": N} marshalled by convertToMCPResult
//   (tool_factory.go), each item api.ServiceStatus of internal/api/service.go
//   (name, service_type, state, health, error omitempty, metadata omitempty).
// - Sessions: mcp-go's ids look like "mcp-session-<uuid>"; an unknown id is
//   answered 404 (what the SDK's transport does); DELETE ends the session.
//
// Control API (no auth), for the test:
//   POST /control  JSON with any of
//     {"services": [...]}            the list core_service_list reports
//     {"mode": "meta"|"direct"}      switch generation live
//     {"inner_error": "text"|null}   the inner tool fails with this error
//     {"raw_text": "..."|null}       call_tool's / the direct tool's text
//                                    content, verbatim (bad envelopes)
//     {"no_content": true|false}     that result has an empty content array
//     {"forget_sessions": true}      drop every session (a server restart)
//   GET /control   the stats below, as JSON.
//
// No code here is copied from the SDK or from muster.

import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  isInitializeRequest,
} from '@modelcontextprotocol/sdk/types.js';

// ---- command line ---------------------------------------------------------

function parseArgs(argv) {
  const opts = { port: 0, mode: 'meta', stateless: false, json: false, tokenFile: '' };
  for (const arg of argv) {
    const [key, value] = arg.split(/=(.*)/s);
    if (key === '--port') opts.port = Number(value);
    else if (key === '--mode') opts.mode = value;
    else if (key === '--stateless') opts.stateless = true;
    else if (key === '--json') opts.json = true;
    else if (key === '--token-file') opts.tokenFile = value;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!Number.isInteger(opts.port) || opts.port <= 0 || opts.port > 65535) {
    throw new Error('--port=N is required');
  }
  if (opts.mode !== 'meta' && opts.mode !== 'direct') {
    throw new Error('--mode is meta or direct');
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

// ---- state the test controls and reads ------------------------------------

const state = {
  mode: opts.mode,
  services: [],
  innerError: null,
  rawText: null,
  noContent: false,
};

const stats = {
  initializes: 0,
  tools_list: 0,
  calls: 0, // every tools/call
  call_tool_calls: 0, // call_tool answered as the meta-tool
  direct_calls: 0, // an inner tool answered directly (direct mode)
  unknown_tool_calls: 0, // answered with the -32602 JSON-RPC error
  deletes: 0, // sessions ended by DELETE
  unauthorized: 0,
  last_arguments: null,
  last_session_deleted: '',
};

// Stateful mode: one transport per session id.
const transports = new Map();

// ---- Go's json.Marshal, as far as this fake needs it ----------------------

// A string as Go's encoding/json writes it: JSON.stringify's escapes
// (the same short forms and lower-case \u00XX), plus the HTML-safe ones.
function goString(s) {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

// `v` marshalled like Go: objects keep their insertion order (a Go struct's
// field order); Go maps must be passed through goMap() to sort their keys.
function goJson(v) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(goJson).join(',') + ']';
  return '{' + Object.entries(v).filter(([, x]) => x !== undefined)
    .map(([k, x]) => goString(k) + ':' + goJson(x)).join(',') + '}';
}

// A Go map[string]any: keys sorted, recursively for nested maps.
function goMap(v) {
  if (Array.isArray(v)) return v.map(goMap);
  if (v === null || typeof v !== 'object') return v;
  const out = {};
  for (const k of Object.keys(v).sort()) out[k] = goMap(v[k]);
  return out;
}

// ---- the tools ------------------------------------------------------------

const objectSchema = (properties = {}, required = []) =>
  ({ type: 'object', properties, required });

const META_TOOLS = [
  { name: 'list_tools', description: 'List all available tools', inputSchema: objectSchema() },
  { name: 'describe_tool', description: 'Describe a tool',
    inputSchema: objectSchema({ name: { type: 'string' } }, ['name']) },
  { name: 'list_core_tools', description: 'List muster core tools', inputSchema: objectSchema() },
  { name: 'filter_tools', description: 'Discover tools',
    inputSchema: objectSchema({ pattern: { type: 'string' }, query: { type: 'string' } }) },
  { name: 'call_tool', description: 'Execute any tool by name',
    inputSchema: objectSchema({ name: { type: 'string' }, arguments: { type: 'object' } }, ['name']) },
  { name: 'list_resources', description: 'List resources', inputSchema: objectSchema() },
  { name: 'describe_resource', description: 'Describe a resource',
    inputSchema: objectSchema({ uri: { type: 'string' } }, ['uri']) },
  { name: 'get_resource', description: 'Read a resource',
    inputSchema: objectSchema({ uri: { type: 'string' } }, ['uri']) },
  { name: 'list_prompts', description: 'List prompts', inputSchema: objectSchema() },
  { name: 'describe_prompt', description: 'Describe a prompt',
    inputSchema: objectSchema({ name: { type: 'string' } }, ['name']) },
  { name: 'get_prompt', description: 'Execute a prompt',
    inputSchema: objectSchema({ name: { type: 'string' }, arguments: { type: 'object' } }, ['name']) },
];

const CORE_TOOLS = [
  { name: 'core_service_list', description: 'List all services with their current status',
    inputSchema: objectSchema() },
  { name: 'core_service_status', description: 'Get status of a specific service',
    inputSchema: objectSchema({ name: { type: 'string' } }, ['name']) },
  { name: 'core_config_get', description: 'Get the current configuration',
    inputSchema: objectSchema() },
];

// api.ServiceStatus, in its struct's field order.
function serviceStatus(s) {
  return {
    name: String(s.name ?? ''),
    service_type: String(s.service_type ?? ''),
    state: String(s.state ?? ''),
    health: String(s.health ?? 'unknown'),
    error: s.error ? String(s.error) : undefined,
    metadata: s.metadata && Object.keys(s.metadata).length ? goMap(s.metadata) : undefined,
  };
}

const text = (t) => ({ type: 'text', text: t });

// An inner (core) tool as the aggregator runs it: a CallToolResult.
function runInner(name, args) {
  stats.last_arguments = args;
  if (!CORE_TOOLS.some((t) => t.name === name)) {
    return { content: [text(`Tool execution failed: tool '${name}' not found`)], isError: true };
  }
  if (state.innerError !== null) {
    return { content: [text(`Tool execution failed: ${state.innerError}`)], isError: true };
  }
  if (name === 'core_service_list') {
    const list = state.services.map(serviceStatus);
    // A Go map: "services" sorts before "total".
    return { content: [text(goJson({ services: list, total: list.length }))] };
  }
  if (name === 'core_service_status') {
    const s = state.services.find((x) => x.name === args.name);
    if (!s) return { content: [text(`Failed to get service status: service ${args.name} not found`)], isError: true };
    return { content: [text(goJson(serviceStatus(s)))] };
  }
  return { content: [text(goJson(goMap({ Aggregator: { Port: 8090 } })))] };
}

// The text the test forces, if any, in place of the result's content.
function overridden(result) {
  if (state.noContent) return { ...result, content: [] };
  if (state.rawText !== null) return { ...result, content: [text(state.rawText)] };
  return result;
}

function toolNotFound(name) {
  stats.unknown_tool_calls++;
  // Not McpError: its message would gain an "MCP error -32602: " prefix.
  return Object.assign(new Error(`tool '${name}' not found: tool not found`),
    { code: ErrorCode.InvalidParams });
}

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function callTool(name, args) {
  stats.calls++;
  if (state.mode === 'direct') {
    if (!CORE_TOOLS.some((t) => t.name === name)) throw toolNotFound(name);
    stats.direct_calls++;
    return overridden(runInner(name, args ?? {}));
  }
  if (!META_TOOLS.some((t) => t.name === name)) throw toolNotFound(name);
  if (name !== 'call_tool') {
    const names = (name.includes('prompt') || name.includes('resource')) ? [] : CORE_TOOLS.map((t) => t.name);
    return { content: [text(JSON.stringify(names, null, 2))] };
  }
  stats.call_tool_calls++;
  const inner = args?.name;
  if (typeof inner !== 'string' || inner === '') {
    return { content: [text('name argument is required')], isError: true };
  }
  let innerArgs = {};
  if (args.arguments !== undefined && args.arguments !== null) {
    if (!isPlainObject(args.arguments)) {
      return { content: [text('arguments must be a JSON object')], isError: true };
    }
    innerArgs = args.arguments;
  }
  const result = runInner(inner, innerArgs);
  const envelope = goJson({
    isError: result.isError === true,
    content: result.content.map((c) => goMap(c)),
    structuredContent: result.structuredContent,
  });
  const outer = { content: [text(envelope)] };
  if (result.isError) outer.isError = true;
  if (result.structuredContent) outer.structuredContent = result.structuredContent;
  return overridden(outer);
}

function newMcpServer() {
  const server = new Server({ name: 'muster', version: 'fake' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => {
    stats.tools_list++;
    return { tools: state.mode === 'meta' ? META_TOOLS : CORE_TOOLS };
  });
  server.setRequestHandler(CallToolRequestSchema, async (request) =>
    callTool(request.params.name, request.params.arguments));
  return server;
}

// ---- HTTP -----------------------------------------------------------------

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// With a Content-Length (not chunked): the tests' plain HTTP client reads
// the body as it comes.
function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

const rpcError = (code, message) => ({ jsonrpc: '2.0', error: { code, message }, id: null });

function authorized(req) {
  if (!opts.tokenFile) return true;
  let token = '';
  try {
    token = readFileSync(opts.tokenFile, 'utf8').trim();
  } catch {
    token = '';
  }
  return token !== '' && req.headers.authorization === `Bearer ${token}`;
}

function forgetSessions() {
  const all = [...transports.values()];
  transports.clear();
  for (const t of all) t.close().catch(() => {});
}

function statsJson() {
  return { ...stats, mode: state.mode, sessions: [...transports.keys()] };
}

async function handleControl(req, res) {
  if (req.method === 'GET') return sendJson(res, 200, statsJson());
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'GET or POST' });
  let body;
  try {
    body = JSON.parse(await readBody(req));
  } catch (e) {
    return sendJson(res, 400, { error: `not JSON: ${e.message}` });
  }
  const known = ['services', 'mode', 'inner_error', 'raw_text', 'no_content', 'forget_sessions'];
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (unknown.length) return sendJson(res, 400, { error: `unknown keys: ${unknown.join(', ')}` });
  if ('services' in body) {
    if (!Array.isArray(body.services)) return sendJson(res, 400, { error: 'services is an array' });
    state.services = body.services;
  }
  if ('mode' in body) {
    if (body.mode !== 'meta' && body.mode !== 'direct') return sendJson(res, 400, { error: 'mode is meta or direct' });
    state.mode = body.mode;
  }
  if ('inner_error' in body) state.innerError = body.inner_error ?? null;
  if ('raw_text' in body) state.rawText = body.raw_text ?? null;
  if ('no_content' in body) state.noContent = body.no_content === true;
  if (body.forget_sessions === true) forgetSessions();
  return sendJson(res, 200, statsJson());
}

async function handleMcp(req, res) {
  if (!authorized(req)) {
    stats.unauthorized++;
    return sendJson(res, 401, { error: 'unauthorized' }, { 'WWW-Authenticate': 'Bearer' });
  }
  let body;
  if (req.method === 'POST') {
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return sendJson(res, 400, rpcError(-32700, 'Parse error'));
    }
    const messages = Array.isArray(body) ? body : [body];
    if (messages.some((m) => isInitializeRequest(m))) stats.initializes++;
  }

  if (opts.stateless) {
    // As the SDK's stateless example: a fresh server and transport per
    // request, no GET stream, no sessions to delete.
    if (req.method !== 'POST') {
      return sendJson(res, 405, rpcError(-32000, 'Method not allowed.'), { Allow: 'POST' });
    }
    const server = newMcpServer();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: opts.json,
    });
    res.on('close', () => {
      transport.close().catch(() => {});
      server.close().catch(() => {});
    });
    await server.connect(transport);
    return transport.handleRequest(req, res, body);
  }

  const sessionId = req.headers['mcp-session-id'];
  if (sessionId !== undefined) {
    const transport = transports.get(sessionId);
    if (!transport) return sendJson(res, 404, rpcError(-32001, 'Session not found'));
    return transport.handleRequest(req, res, body);
  }
  if (req.method === 'POST' && isInitializeRequest(body)) {
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => `mcp-session-${randomUUID()}`,
      enableJsonResponse: opts.json,
      onsessioninitialized: (id) => { transports.set(id, transport); },
      onsessionclosed: (id) => {
        stats.deletes++;
        stats.last_session_deleted = id;
      },
    });
    transport.onclose = () => {
      if (transport.sessionId && transports.get(transport.sessionId) === transport) {
        transports.delete(transport.sessionId);
      }
    };
    await newMcpServer().connect(transport);
    return transport.handleRequest(req, res, body);
  }
  return sendJson(res, 400, rpcError(-32000, 'Bad Request: Mcp-Session-Id header is required'));
}

const httpServer = http.createServer((req, res) => {
  const path = new URL(req.url, 'http://127.0.0.1').pathname;
  let handled;
  if (path === '/control') handled = handleControl(req, res);
  else if (path === '/mcp') handled = handleMcp(req, res);
  else handled = Promise.resolve(sendJson(res, 404, { error: `no ${path} here` }));
  handled.catch((e) => {
    console.error(`error on ${req.method} ${path}: ${e.stack ?? e}`);
    if (!res.headersSent) sendJson(res, 500, rpcError(-32603, String(e.message ?? e)));
    else res.end();
  });
});

httpServer.listen(opts.port, '127.0.0.1', () => {
  console.log(`listening ${opts.port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
