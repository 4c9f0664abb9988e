/** Reading the MCP conformance suite's output (issue #13 tests). */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

/** Scenario → passed (it reported checks and none failed), from the suite's SUMMARY lines. */
export function parseConformance(out: string): Map<string, boolean> {
  const results = new Map<string, boolean>();
  for (const m of out.matchAll(/^[✓✗] ([\w-]+): (\d+) passed, (\d+) failed$/gmu)) results.set(m[1]!, m[3] === '0' && m[2] !== '0');
  assert.ok(results.size > 20, `the suite reported too few scenarios:\n${out.slice(-3000)}`);
  return results;
}

/** Scenarios that pass in `direct` but not in `through`. */
export function lostScenarios(direct: Map<string, boolean>, through: Map<string, boolean>): string[] {
  return [...direct].filter(([name, ok]) => ok && !through.get(name)).map(([name]) => name);
}


const require = createRequire(import.meta.url);
/** The suite's CLI (@modelcontextprotocol/conformance 0.1.12: the last that runs on Node 20). */
export const CONFORMANCE_CLI = path.join(path.dirname(require.resolve('@modelcontextprotocol/conformance/package.json')), 'dist/index.js');
/** The reference "everything" server's CLI: `stdio` or `streamableHttp` (on $PORT). */
export const EVERYTHING_CLI = path.join(path.dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')), 'dist/index.js');

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Starts argv (added to `children`, for the caller to kill) and waits until PORT on 127.0.0.1 accepts. */
export async function startListening(children: ChildProcess[], argv: string[], port: number, env: Record<string, string> = {}): Promise<void> {
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

/** Runs the suite on this host against url: scenario → passed. */
export async function runConformance(url: string): Promise<Map<string, boolean>> {
  const out = await promisify(execFile)(process.execPath, [CONFORMANCE_CLI, 'server', '--url', url], { maxBuffer: 32 * 1024 * 1024, timeout: 240_000 }).then(
    (r) => r.stdout + r.stderr,
    (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`,
  );
  return parseConformance(out);
}
