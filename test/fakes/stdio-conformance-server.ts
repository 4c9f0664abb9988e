#!/usr/bin/env node
/**
 * A small MCP server for the stdio-bridge tests (issue #13 "Conformance"), built on the SDK's
 * McpServer, with the tools, resources and prompts the MCP conformance suite's server scenarios
 * call (`@modelcontextprotocol/conformance` `list`). One factory, two transports, so one server can
 * be tested natively and through the bridge:
 *
 *   node stdio-conformance-server.js stdio          stdio (what the bridge spawns)
 *   node stdio-conformance-server.js http PORT      Streamable HTTP on 127.0.0.1:PORT/mcp (stateful, SSE)
 *
 * Test hooks, all on stdio: the tool `crash` exits the process at once (status 3); `slow` answers
 * after `ms` milliseconds; `garbage` writes a line that is not JSON-RPC to stdout, then answers;
 * `env` answers the value of an environment variable. CONFORMANCE_SERVER_EXIT_AT_ONCE=1 makes it
 * print to stderr and exit 1 before serving.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
const WAV = 'UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createConformanceServer(): McpServer {
  const server = new McpServer(
    { name: 'tongs-conformance-server', version: '1.0.0' },
    { capabilities: { logging: {}, completions: {}, resources: { subscribe: true, listChanged: true }, tools: { listChanged: true }, prompts: { listChanged: true } } },
  );
  const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });
  server.registerTool('test_simple_text', { description: 'Returns simple text' }, async () => text('This is a simple text response for testing.'));
  server.registerTool('test_image_content', { description: 'Returns an image' }, async () => ({ content: [{ type: 'image', data: PNG, mimeType: 'image/png' }] }));
  server.registerTool('test_audio_content', { description: 'Returns audio' }, async () => ({ content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }] }));
  const embedded = { type: 'resource' as const, resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } };
  server.registerTool('test_embedded_resource', { description: 'Returns an embedded resource' }, async () => ({ content: [embedded] }));
  server.registerTool('test_multiple_content_types', { description: 'Returns text, image and resource' }, async () => ({
    content: [
      { type: 'text', text: 'Multiple content types test:' },
      { type: 'image', data: PNG, mimeType: 'image/png' },
      { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: '{"test":"data","value":123}' } },
    ],
  }));
  server.registerTool('test_tool_with_logging', { description: 'Logs while it runs' }, async (extra) => {
    for (const data of ['Tool execution started', 'Tool processing data', 'Tool execution completed']) {
      await server.server.sendLoggingMessage({ level: 'info', data }, extra.sessionId);
      await sleep(50);
    }
    return text('Tool with logging executed successfully');
  });
  server.registerTool('test_error_handling', { description: 'Always fails' }, async () => ({ isError: true, content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }] }));
  server.registerTool('test_tool_with_progress', { description: 'Reports progress' }, async (extra) => {
    const token = extra._meta?.progressToken;
    for (const p of [0, 50, 100]) {
      if (token !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: p, total: 100, message: `Completed step ${p}` } });
      await sleep(50);
    }
    return text(String(token ?? 'no token'));
  });
  server.registerTool('test_sampling', { description: 'Asks the client to sample', inputSchema: { prompt: z.string() } }, async ({ prompt }, extra) => {
    const r = await extra.sendRequest(
      { method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 } },
      z.object({ content: z.object({ type: z.string(), text: z.string().optional() }).passthrough() }).passthrough(),
    );
    return text(`LLM response: ${r.content.text ?? ''}`);
  });
  server.registerTool('test_elicitation', { description: 'Asks the user', inputSchema: { message: z.string() } }, async ({ message }) => {
    const r = await server.server.elicitInput({
      message,
      requestedSchema: {
        type: 'object',
        properties: { username: { type: 'string', description: "User's response" }, email: { type: 'string', description: "User's email address" } },
        required: ['username', 'email'],
      },
    });
    return text(`User response: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`);
  });
  // Test hooks for the bridge's own tests.
  server.registerTool('crash', { description: 'Exits the server at once' }, async () => {
    process.stderr.write('conformance-server: crashing on purpose\n');
    process.exit(3);
  });
  server.registerTool('slow', { description: 'Answers after ms milliseconds', inputSchema: { ms: z.number() } }, async ({ ms }) => {
    await sleep(ms);
    return text(`slept ${ms}`);
  });
  server.registerTool('garbage', { description: 'Writes a non-JSON line on stdout, then answers' }, async () => {
    process.stdout.write('this is not JSON-RPC\n');
    return text('still here');
  });
  server.registerTool('env', { description: 'The value of an environment variable', inputSchema: { name: z.string() } }, async ({ name }) => text(process.env[name] ?? '(unset)'));
  server.registerTool('pid', { description: 'The server process id' }, async () => text(String(process.pid)));

  server.registerResource('static-text', 'test://static-text', { mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }],
  }));
  server.registerResource('static-binary', 'test://static-binary', { mimeType: 'image/png' }, async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'image/png', blob: PNG }] }));
  server.registerResource('watched-resource', 'test://watched-resource', { mimeType: 'text/plain' }, async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Watched resource content' }] }));
  server.registerResource('template', new ResourceTemplate('test://template/{id}/data', { list: undefined }), { mimeType: 'application/json' }, async (uri, { id }) => ({
    contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${String(id)}` }) }],
  }));
  const subscriptions = new Set<string>();
  server.server.setRequestHandler(SubscribeRequestSchema, async (req) => {
    subscriptions.add(req.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
    subscriptions.delete(req.params.uri);
    return {};
  });

  server.registerPrompt('test_simple_prompt', { description: 'A simple prompt' }, () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
  }));
  server.registerPrompt('test_prompt_with_arguments', { description: 'A prompt with arguments', argsSchema: { arg1: z.string(), arg2: z.string() } }, ({ arg1, arg2 }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }],
  }));
  server.registerPrompt('test_prompt_with_embedded_resource', { description: 'A prompt with a resource', argsSchema: { resourceUri: z.string() } }, ({ resourceUri }) => ({
    messages: [
      { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
      { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
    ],
  }));
  server.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' }, () => ({
    messages: [
      { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
    ],
  }));
  return server;
}

async function main(): Promise<void> {
  const [mode = 'stdio', portArg] = process.argv.slice(2);
  if (process.env.CONFORMANCE_SERVER_EXIT_AT_ONCE === '1') {
    process.stderr.write('conformance-server: missing DATABASE_URL, giving up\n');
    process.exit(1);
  }
  if (mode === 'stdio') {
    await createConformanceServer().connect(new StdioServerTransport());
    return;
  }
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const httpServer = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
    const sid = req.headers['mcp-session-id'];
    let transport = typeof sid === 'string' ? transports.get(sid) : undefined;
    if (!transport) {
      if (typeof sid === 'string') {
        res.writeHead(404).end();
        return;
      }
      const t = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => void transports.set(id, t) });
      t.onclose = () => t.sessionId && transports.delete(t.sessionId);
      await createConformanceServer().connect(t);
      transport = t;
    }
    await transport.handleRequest(req, res, body);
  });
  httpServer.listen(Number(portArg ?? 0), '127.0.0.1', () => {
    const a = httpServer.address();
    process.stderr.write(`conformance-server: http on 127.0.0.1:${typeof a === 'object' && a ? a.port : portArg}/mcp\n`);
  });
}

await main();
