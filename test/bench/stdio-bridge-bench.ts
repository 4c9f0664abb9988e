// Benchmark of the stdio bridge (issue #13 "Speed"), run by `make bench-stdio-bridge`:
//  1. added latency: a tool call (test_simple_text of test/fakes/stdio-conformance-server.ts) through
//     the bridge (dist/stdio-bridge/bridge.mjs, MCP over Streamable HTTP) vs the same server over stdio
//     directly (the SDK's StdioClientTransport); target ≤ 2 ms median over BENCH_ITERATIONS (200) calls;
//     For scale, the same server in its own Streamable HTTP mode (the SDK's transport, no bridge).
//  2. resident memory of the idle bridge process, the stdio server (its child) not counted; target ≤ 30 MB.
// Prints medians and the difference. Measures only; asserts nothing.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freePort } from '../support/conformance.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const SERVER = join(ROOT, 'dist/test/fakes/stdio-conformance-server.js');
const BRIDGE = join(ROOT, 'dist/stdio-bridge/bridge.mjs');
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200);
const WARMUP = 30;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

async function timeCalls(client: Client): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    const t0 = performance.now();
    await client.callTool({ name: 'test_simple_text', arguments: {} });
    if (i >= WARMUP) times.push(performance.now() - t0);
  }
  return median(times);
}

const direct = new Client({ name: 'bench', version: '1' });
await direct.connect(new StdioClientTransport({ command: process.execPath, args: [SERVER, 'stdio'], stderr: 'ignore' }));
const directMs = await timeCalls(direct);
await direct.close();

const nativePort = await freePort();
const native = spawn(process.execPath, [SERVER, 'http', String(nativePort)], { stdio: ['ignore', 'ignore', 'pipe'] });
await new Promise<void>((resolve) => native.stderr!.on('data', (c: Buffer) => (c.toString().includes('http on') ? resolve() : undefined)));
const nativeClient = new Client({ name: 'bench', version: '1' });
await nativeClient.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${nativePort}/mcp`)));
const nativeMs = await timeCalls(nativeClient);
await nativeClient.close();
native.kill('SIGTERM');

const port = await freePort();
const bridge = spawn(process.execPath, [BRIDGE, '--port', String(port), '--', process.execPath, SERVER, 'stdio'], { stdio: ['ignore', 'ignore', 'pipe'] });
await new Promise<void>((resolve, reject) => {
  bridge.stderr!.on('data', (c: Buffer) => (c.toString().includes('serving') ? resolve() : undefined));
  bridge.on('exit', () => reject(new Error('the bridge exited')));
});
const client = new Client({ name: 'bench', version: '1' });
await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
const bridgedMs = await timeCalls(client);
await client.close();
await new Promise((r) => setTimeout(r, 3000));
const bridgeRss = rssMb(bridge.pid!);
const childPid = Number(readFileSync(`/proc/${bridge.pid}/task/${bridge.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
const childRss = childPid ? rssMb(childPid) : NaN;
bridge.kill('SIGTERM');

const f = (n: number) => n.toFixed(3);
console.log(`stdio bridge benchmark (${ITERATIONS} calls after ${WARMUP} warm-up, load ${loadavg()[0]!.toFixed(1)})`);
console.log(`  tool call over stdio directly      median ${f(directMs)} ms`);
console.log(`  tool call through the bridge       median ${f(bridgedMs)} ms`);
console.log(`  the same server's own HTTP mode   median ${f(nativeMs)} ms (the SDK's Streamable HTTP, no bridge)`);
console.log(`  added by the bridge                ${f(bridgedMs - directMs)} ms (target ≤ 2 ms)`);
console.log(`  idle RSS: bridge ${bridgeRss.toFixed(1)} MB (target ≤ 30 MB), its stdio server ${childRss.toFixed(1)} MB`);
process.exit(0);
