/**
 * Stdio tongs in the pure core (issue #13 item 1): the schema's `interface.transport`/`node` rules,
 * the plan's bridge mount, entrypoint and command (both ways of running the bridge), the refusals
 * that say what to do, and the approval summary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefusalError } from '../../launcher/errors.js';
import { mergeLayers, type MergedTong } from '../../launcher/core/layers.js';
import { planLaunch, type PlanInput } from '../../launcher/core/plan.js';
import { summarizeTong } from '../../launcher/core/privilege-summary.js';
import { IMAGE_NODE_SCRIPT, type StdioBridgeHost } from '../../launcher/core/stdio-bridge.js';
import { validateDefinition } from '../../launcher/core/validate.js';
import type { LayerName } from '../../launcher/core/plan-types.js';

const source = (yaml: string, layer: LayerName = 'repo', name = 'pg-mcp') => ({
  layer,
  name,
  file: `/defs/${layer}/${name}.yaml`,
  displayPath: `${layer}/${name}.yaml`,
  source: yaml,
});

function problems(yaml: string): string[] {
  const r = validateDefinition(source(yaml));
  return 'tong' in r ? [] : r.problems;
}

function tongs(yaml: string, layer: LayerName = 'repo'): MergedTong[] {
  const r = validateDefinition(source(yaml, layer));
  if (!('tong' in r)) throw new Error(r.problems.join('\n'));
  return mergeLayers([r.tong]).tongs;
}

const STDIO = `image: tongs-test-stdio:local
env:
  DATABASE_URL: \${secret:env:PG_URL}
interface: {kind: mcp, transport: stdio, port: 8080, name: pg}
command: [uvx, postgres-mcp, --access-mode=restricted]
`;
const BRIDGE: StdioBridgeHost = { dir: '/opt/tongs/dist/stdio-bridge', hostRuntime: true };

function input(overrides: Partial<PlanInput>): PlanInput {
  return {
    tongs: [],
    harness: 'claude',
    anvilArgv: ['docker', 'run', '--rm', 'tongs-anvil:local'],
    sessionId: '0123456789ab',
    tempDir: '/tmp/tongs-x',
    workspace: '/home/me/project',
    launcherPid: 4242,
    launcherHost: 'devbox',
    startedAt: '2026-01-02T03:04:05.000Z',
    mcpTokens: { 'pg-mcp': 'tok' },
    stdioBridge: BRIDGE,
    ...overrides,
  };
}

const cases: { name: string; yaml: string; errors: string[] }[] = [
  { name: 'a stdio tong with command: is valid', yaml: STDIO, errors: [] },
  { name: 'transport http is the default and valid', yaml: 'image: x\ninterface: {kind: mcp, transport: http, port: 1, name: a}\n', errors: [] },
  {
    name: 'stdio without command:',
    yaml: 'image: x\ninterface: {kind: mcp, transport: stdio, port: 1, name: a}\n',
    errors: ["interface.transport: a stdio tong needs command: the stdio server's argv in its image"],
  },
  {
    name: 'stdio with an entrypoint',
    yaml: 'image: x\ninterface: {kind: mcp, transport: stdio, port: 1, name: a}\ncommand: [srv]\nentrypoint: [sh]\n',
    errors: ['entrypoint: not used by a stdio tong: the bridge is its entrypoint'],
  },
  { name: 'an unknown transport', yaml: 'image: x\ninterface: {kind: mcp, transport: sse, port: 1, name: a}\n', errors: ['interface.transport: expected one of http, stdio'] },
  { name: 'an unknown node', yaml: 'image: x\ninterface: {kind: mcp, transport: stdio, node: bun, port: 1, name: a}\ncommand: [s]\n', errors: ['interface.node: expected one of image, host'] },
  { name: 'node without stdio', yaml: 'image: x\ninterface: {kind: mcp, node: image, port: 1, name: a}\n', errors: ['interface.node: only used with transport: stdio'] },
  { name: 'transport on a port tong', yaml: 'image: x\ninterface: {kind: port, transport: stdio, port: 1}\n', errors: ['interface.transport: unknown key'] },
];
for (const c of cases) {
  test(`schema: ${c.name}`, () => {
    const got = problems(c.yaml);
    if (c.errors.length === 0) assert.deepEqual(got, []);
    for (const e of c.errors) assert.ok(got.some((p) => p.includes(e)), `expected a problem with ${JSON.stringify(e)}, got:\n${got.join('\n')}`);
  });
}

test('plan: the host runtime runs the bridge through its own loader; command: is the bridge child after --', () => {
  const plan = planLaunch(input({ tongs: tongs(STDIO) }));
  const t = plan.tongs[0]!;
  assert.equal(t.transport, 'stdio');
  assert.deepEqual(t.bridge, { command: ['uvx', 'postgres-mcp', '--access-mode=restricted'], node: 'host' });
  assert.deepEqual(t.entrypoint, [
    '/run/tongs/bridge/runtime/loader',
    '--library-path',
    '/run/tongs/bridge/runtime/lib',
    '/run/tongs/bridge/runtime/node',
    '/run/tongs/bridge/bridge.mjs',
  ]);
  assert.deepEqual(t.command, ['--port', '8080', '--path', '/mcp', '--', 'uvx', 'postgres-mcp', '--access-mode=restricted']);
  assert.deepEqual(t.mounts, [{ type: 'bind', source: '/opt/tongs/dist/stdio-bridge', target: '/run/tongs/bridge', readOnly: true }]);
  // The harness sees an ordinary HTTP MCP server; the secret stays a reference for the shell.
  assert.equal(t.url, 'http://pg:8080/mcp');
  assert.deepEqual(plan.mcpConfig, { mcpServers: { pg: { type: 'http', url: 'http://pg:8080/mcp', headers: { Authorization: 'Bearer tok' } } } });
  assert.equal(t.secretEnv.DATABASE_URL, '${secret:env:PG_URL}');
});

test("plan: interface.node image (or no host runtime) runs the bundle with the image's node, refusing an image without one", () => {
  const yaml = STDIO.replace('transport: stdio,', 'transport: stdio, node: image,').replace('/mcp', '/mcp').replace('port: 8080', 'port: 9000, path: /rpc');
  const t = planLaunch(input({ tongs: tongs(yaml) })).tongs[0]!;
  assert.equal(t.bridge?.node, 'image');
  assert.deepEqual(t.entrypoint, ['/bin/sh', '-c', IMAGE_NODE_SCRIPT, 'tongs-stdio-bridge']);
  assert.deepEqual(t.command?.slice(0, 5), ['--port', '9000', '--path', '/rpc', '--']);
  assert.match(IMAGE_NODE_SCRIPT, /no node on its PATH.*use interface.node: host/);
  const fallback = planLaunch(input({ tongs: tongs(STDIO), stdioBridge: { dir: '/b', hostRuntime: false, hostRuntimeMissing: 'the host is darwin, not Linux' } })).tongs[0]!;
  assert.equal(fallback.bridge?.node, 'image');
});

test('plan: refusals say why and what to do', () => {
  assert.throws(
    () => planLaunch(input({ tongs: tongs(STDIO), stdioBridge: null })),
    (e: unknown) => e instanceof RefusalError && /stdio tong 'pg-mcp' \(repo\/pg-mcp.yaml\) needs the stdio bridge bundle .*not built: run `make build`/.test(e.message),
  );
  const host = STDIO.replace('transport: stdio,', 'transport: stdio, node: host,');
  assert.throws(
    () => planLaunch(input({ tongs: tongs(host), stdioBridge: { dir: '/b', hostRuntime: false, hostRuntimeMissing: 'the host is darwin, not Linux' } })),
    (e: unknown) =>
      e instanceof RefusalError && /asks for interface.node: host, but this launcher has no host Node runtime .*\(the host is darwin, not Linux\).*set interface.node: image/.test(e.message),
  );
});

test('plan: http mcp tongs are unchanged (no transport or bridge fields, no bridge mount)', () => {
  const t = planLaunch(input({ tongs: tongs('image: x\ninterface: {kind: mcp, port: 8080, name: gh}\n') })).tongs[0]!;
  assert.equal('transport' in t, false);
  assert.equal('bridge' in t, false);
  assert.deepEqual(t.mounts, []);
  assert.equal(t.entrypoint, null);
});

test('approval summary: a workspace stdio tong shows its transport, which node runs the bridge, and the server argv', () => {
  const t = planLaunch(input({ tongs: tongs(STDIO, 'workspace') })).tongs[0]!;
  const lines = summarizeTong(t);
  assert.ok(lines.includes("  transport: stdio: the tongs bridge (run by the launcher's Node runtime, mounted read-only) serves this program as MCP over HTTP:"), lines.join('\n'));
  assert.ok(lines.includes("  command:   'uvx' 'postgres-mcp' '--access-mode=restricted'"), lines.join('\n'));
  assert.ok(lines.some((l) => l.includes('/opt/tongs/dist/stdio-bridge -> /run/tongs/bridge (read-only)')), lines.join('\n'));
  assert.ok(!lines.some((l) => l.includes('entrypoint')), 'the bridge argv is not shown as if the definition asked for it');
  assert.ok(lines.some((l) => l.includes('secrets:   env:PG_URL')));
});
