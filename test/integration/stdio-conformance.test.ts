// MCP conformance through the stdio bridge (issue #13 "Conformance"): the official suite
// (@modelcontextprotocol/conformance 0.1.12, the last that runs on Node 20) against one server in
// its own Streamable HTTP mode and in its stdio mode behind the bridge
// (dist/sidecars/stdio-bridge/src/main.js). Every scenario that passes natively must pass through
// the bridge. Two servers: the reference "everything" server (@modelcontextprotocol/server-everything)
// and test/fakes/stdio-conformance-server.ts, which implements the tools the suite's scenarios call
// (sampling, elicitation, progress, logging among them), so those are relayed for real.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const require = createRequire(import.meta.url);
const CONFORMANCE = path.join(path.dirname(require.resolve('@modelcontextprotocol/conformance/package.json')), 'dist/index.js');
const EVERYTHING = path.join(path.dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')), 'dist/index.js');
const FIXTURE = path.join(root, 'dist/test/fakes/stdio-conformance-server.js');
const BRIDGE = path.join(root, 'dist/sidecars/stdio-bridge/src/main.js');

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGTERM');
});

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Starts argv (env extra) and waits until PORT accepts connections. */
async function start(argv: string[], port: number, env: Record<string, string> = {}): Promise<void> {
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1', () => (sock.destroy(), resolve(true)));
      sock.on('error', () => resolve(false));
    });
    if (ok) return;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${argv.join(' ')} did not listen on ${port}: ${stderr}`);
}

/** Runs the suite against url; returns scenario → passed (every check of it passed). */
async function conformance(url: string): Promise<Map<string, boolean>> {
  const out = await run(process.execPath, [CONFORMANCE, 'server', '--url', url], { maxBuffer: 32 * 1024 * 1024, timeout: 240_000 }).then(
    (r) => r.stdout + r.stderr,
    (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`,
  );
  const results = new Map<string, boolean>();
  for (const m of out.matchAll(/^[✓✗] ([\w-]+): (\d+) passed, (\d+) failed$/gmu)) results.set(m[1]!, m[3] === '0' && m[2] !== '0');
  assert.ok(results.size > 20, `the suite reported too few scenarios:\n${out.slice(-2000)}`);
  return results;
}

async function compare(native: string[], bridged: string[], nativeEnv: Record<string, string> = {}) {
  const [np, bp] = [await freePort(), await freePort()];
  await start(native.map((a) => a.replace('{PORT}', String(np))), np, { PORT: String(np), ...nativeEnv });
  await start([process.execPath, BRIDGE, '--port', String(bp), '--', ...bridged], bp, { TONGS_TONG_NAME: 'conformance', TONGS_ALIASES: 'conformance' });
  const [direct, through] = await Promise.all([conformance(`http://127.0.0.1:${np}/mcp`), conformance(`http://127.0.0.1:${bp}/mcp`)]);
  const lost = [...direct].filter(([name, ok]) => ok && !through.get(name)).map(([name]) => name);
  assert.deepEqual(lost, [], `scenarios that pass natively but fail through the bridge: ${lost.join(', ')}`);
  return { direct, through };
}

test('the conformance fixture server: every scenario that passes natively passes through the bridge (sampling, elicitation, progress, logging included)', { timeout: 300_000 }, async () => {
  const { direct, through } = await compare([process.execPath, FIXTURE, 'http', '{PORT}'], [process.execPath, FIXTURE, 'stdio']);
  for (const name of ['tools-call-sampling', 'tools-call-elicitation', 'tools-call-with-progress', 'tools-call-with-logging', 'resources-subscribe', 'server-sse-multiple-streams']) {
    assert.equal(direct.get(name), true, `${name} passes natively`);
    assert.equal(through.get(name), true, `${name} passes through the bridge`);
  }
  const passed = [...through.values()].filter(Boolean).length;
  process.stderr.write(`conformance fixture: ${[...direct.values()].filter(Boolean).length} scenarios pass natively, ${passed} through the bridge\n`);
});

test('the reference everything server: every scenario that passes in its Streamable HTTP mode passes in its stdio mode through the bridge', { timeout: 300_000 }, async () => {
  const { direct, through } = await compare([process.execPath, EVERYTHING, 'streamableHttp'], [process.execPath, EVERYTHING, 'stdio']);
  process.stderr.write(`server-everything: ${[...direct.values()].filter(Boolean).length} scenarios pass natively, ${[...through.values()].filter(Boolean).length} through the bridge\n`);
});
