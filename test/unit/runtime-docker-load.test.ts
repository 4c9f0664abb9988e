/**
 * Loading the Docker runtime defers dockerode's heavy dependencies (launcher/shell/engine/docker-runtime.ts,
 * issue #3 "Speed"): gRPC + proto-loader (BuildKit sessions) and ssh2 (docker-modem's ssh, replaced by the system ssh) are not loaded by
 * `tongs run` until something uses them, and then they work as the real modules. Each case runs in a
 * fresh Node process, because the module cache is per process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const RUNTIME = fileURLToPath(new URL('../../launcher/shell/engine/docker-runtime.js', import.meta.url));

/** Runs `body` (an async function body, ESM) after importing the runtime; returns its JSON output. */
async function inFreshProcess(body: string, env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const script = `
    import { createRequire } from 'node:module';
    const runtime = await import(${JSON.stringify(RUNTIME)});
    const require = createRequire(${JSON.stringify(RUNTIME)});
    const loaded = (re) => Object.keys(require.cache).filter((p) => re.test(p)).length;
    const fromDockerode = createRequire(require.resolve('dockerode'));
    const fromModem = createRequire(fromDockerode.resolve('docker-modem'));
    const out = {};
    ${body}
    console.log(JSON.stringify(out));`;
  const base = { ...process.env };
  delete base.DOCKER_HOST;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...base, ...env } });
  return JSON.parse(stdout) as Record<string, unknown>;
}

// The real modules are many files; a deferred one is only its stand-in at the package's main path.
const GRPC_FILES = /node_modules[\\/]@grpc[\\/]grpc-js[\\/]build[\\/]src[\\/](?!index\.js$)/;
const SSH2_FILES = /node_modules[\\/]ssh2[\\/]lib[\\/](?!index\.js$)/;

test('loading the runtime does not load gRPC or ssh2', async () => {
  const out = await inFreshProcess(`
    runtime.createDockerRuntime();
    out.grpc = loaded(${GRPC_FILES});
    out.ssh2 = loaded(${SSH2_FILES});
    out.loadMs = runtime.dockerodeLoadMs;`);
  assert.equal(out.grpc, 0, 'no gRPC source file is loaded');
  assert.equal(out.ssh2, 0, 'no ssh2 source file is loaded');
  assert.ok(typeof out.loadMs === 'number' && out.loadMs > 0, 'the load time is recorded for the trace');
});

test('the deferred modules load on first use and behave as the real ones', async () => {
  const out = await inFreshProcess(`
    const grpc = fromDockerode('@grpc/grpc-js');
    const protoLoader = fromDockerode('@grpc/proto-loader');
    out.server = typeof new grpc.Server();
    out.credentials = typeof grpc.ServerCredentials.createInsecure();
    out.loadSync = typeof protoLoader.loadSync;
    out.grpcAfter = loaded(${GRPC_FILES}) > 0;
    const { Client } = fromModem('ssh2');
    const client = new Client();
    out.client = typeof client.connect;
    out.sameClass = client instanceof fromModem('ssh2').Client;
    out.ssh2After = loaded(${SSH2_FILES}) > 0;`);
  assert.deepEqual(out, {
    server: 'object',
    credentials: 'object',
    loadSync: 'function',
    grpcAfter: true,
    client: 'function',
    sameClass: true,
    ssh2After: true,
  });
});

test('with an ssh:// DOCKER_HOST, ssh2 is not loaded either: the system ssh carries the connections (ssh-dial.ts)', async () => {
  const out = await inFreshProcess(
    `
    const rt = runtime.createDockerRuntime();
    out.engine = rt.describeEngine();
    out.ssh2 = loaded(${SSH2_FILES}) > 0;
    out.grpc = loaded(${GRPC_FILES});`,
    { DOCKER_HOST: 'ssh://tongs@engine.invalid' },
  );
  assert.deepEqual(out, { engine: 'DOCKER_HOST=ssh://tongs@engine.invalid', ssh2: false, grpc: 0 });
});
