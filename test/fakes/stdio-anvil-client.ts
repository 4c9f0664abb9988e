/**
 * The test anvil of the stdio-session tests (issue #13), bundled by esbuild into one file and run
 * by the anvil's node: connects to every server in /run/tongs/mcp.json with the SDK's Streamable
 * HTTP client (headers as emitted, bearer included), calls the tool named by CALL (a JSON
 * `{"server", "tool", "arguments"}`), and prints `RESULT <json>` or `FAILED <message>`. With
 * HOLD=1 it then prints `CHECK-NOW` and waits (up to 2 min) for /tmp/checks-done, so a test can
 * inspect the running session.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const config = JSON.parse(readFileSync('/run/tongs/mcp.json', 'utf8')) as { mcpServers: Record<string, { url: string; headers?: Record<string, string> }> };
const calls = JSON.parse(process.env.CALL ?? '[]') as { server: string; tool: string; arguments?: Record<string, unknown> }[];
try {
  for (const call of calls) {
    const entry = config.mcpServers[call.server];
    if (!entry) throw new Error(`no server ${call.server} in the MCP config`);
    const client = new Client({ name: 'stdio-anvil', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(entry.url), { requestInit: { headers: entry.headers ?? {} } }));
    const tools = (await client.listTools()).tools.map((t) => t.name);
    const result = await client.callTool({ name: call.tool, arguments: call.arguments ?? {} });
    console.log(`RESULT ${JSON.stringify({ server: call.server, tools, result })}`);
    await client.close();
  }
} catch (err) {
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  console.log(`FAILED ${err instanceof Error ? err.message : String(err)}${cause ? ` (${cause.code ?? cause.message})` : ''}`);
  process.exit(99);
}
if (process.env.HOLD === '1') {
  console.log('CHECK-NOW');
  const deadline = Date.now() + 120_000;
  const timer = setInterval(() => {
    if (existsSync('/tmp/checks-done') || Date.now() > deadline) {
      clearInterval(timer);
      process.exit(0);
    }
  }, 100);
}
