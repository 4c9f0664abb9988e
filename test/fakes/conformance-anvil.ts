/**
 * The anvil of the in-session conformance test (issue #13 "Conformance … through the bridge, on a
 * real engine, from inside the session"), bundled by esbuild with the conformance suite beside it
 * (/t/conformance.mjs). The suite tests a URL and cannot send the session's bearer, so a local
 * reverse proxy (http-proxy-3) adds the emitted `Authorization` header on the way to the stdio
 * tong named by SERVER; the suite then runs against the proxy. Prints the suite's output.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxyServer } from 'http-proxy-3';

const config = JSON.parse(readFileSync('/run/tongs/mcp.json', 'utf8')) as { mcpServers: Record<string, { url: string; headers?: Record<string, string> }> };
const entry = config.mcpServers[process.env.SERVER ?? ''];
if (!entry) {
  console.log(`FAILED no server ${process.env.SERVER} in the MCP config`);
  process.exit(99);
}
const target = new URL(entry.url);
const proxy = createProxyServer({ target: target.origin, headers: entry.headers ?? {}, changeOrigin: true });
proxy.on('error', (err) => console.error(`proxy: ${err.message}`));
const front = http.createServer((req, res) => proxy.web(req, res));
await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(front.address() as AddressInfo).port}${target.pathname}`;
const suite = spawn(process.execPath, ['/t/conformance.mjs', 'server', '--url', url], { stdio: ['ignore', 'inherit', 'inherit'], cwd: '/tmp' });
suite.on('exit', (code) => {
  console.log(`CONFORMANCE-DONE ${code}`);
  process.exit(0);
});
