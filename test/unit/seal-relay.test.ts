/**
 * The relay (DESIGN.md "The seal" rule 5, issue #11): the plan's anvil options and relay container
 * with `anvilRelay`, and the relay program's two halves piping a connection end to end in-process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { parseRelayTargets, startRelay } from '../../anvil/src/relay.js';
import { planLaunch } from '../../launcher/core/plan.js';
import type { MergedTong } from '../../launcher/core/layers.js';
import { tempDir } from '../support/process.js';

const tong = (name: string, def: Record<string, unknown>): MergedTong =>
  ({ name, layer: 'repo', file: `/defs/${name}.yaml`, displayPath: `${name}.yaml`, definition: { image: `${name}:local`, ...def } }) as unknown as MergedTong;

const input = (anvilRelay: boolean, anvilArgv = ['docker', 'run', '--rm', 'tongs-anvil:local', 'claude']) => ({
  tongs: [
    tong('github', { interface: { kind: 'mcp', name: 'github', port: 8080, aliases: ['gh'] } }),
    tong('db', { interface: { kind: 'port', port: 5432 } }),
    tong('noport', { interface: { kind: 'none' } }),
  ],
  harness: 'claude',
  anvilArgv,
  sessionId: 'abcdef123456',
  tempDir: '/tmp/s',
  workspace: null,
  launcherPid: 1,
  launcherHost: 'h',
  startedAt: '2026-12-01T00:00:00Z',
  mcpTokens: null,
  anvilRelay,
});

test('with the relay the anvil has no network; each tong alias resolves to its own loopback address', () => {
  const plan = planLaunch(input(true));
  const argv = plan.anvilArgv;
  const pairs = (flag: string) => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []));
  assert.deepEqual(pairs('--network'), ['none']);
  assert.deepEqual(pairs('--add-host'), ['github:127.0.0.2', 'gh:127.0.0.2', 'db:127.0.0.3']);
  assert.ok(pairs('-v').includes('tongs-abcdef12-sock:/run/tongs/sock'));
  assert.ok(pairs('-e').includes('TONGS_RELAY=github@127.0.0.2:8080,db@127.0.0.3:5432'));
  assert.deepEqual(plan.anvilNetwork, { mode: 'relay', loopback: { github: '127.0.0.2', db: '127.0.0.3' } });
  assert.deepEqual(plan.relay, {
    containerName: 'tongs-abcdef12-relay',
    image: 'tongs-anvil:local',
    volume: 'tongs-abcdef12-sock',
    socketDir: '/run/tongs/sock',
    targets: ['github:8080', 'db:5432'],
    labels: { ...plan.labels, 'dev.tongs.role': 'relay' },
  });
  // The URLs the harness sees are unchanged: the alias and port of each tong.
  assert.equal(plan.tongs[0]!.url, 'http://github:8080/mcp');
});

test('without the relay, or when the argv names its own network, the anvil joins the session network', () => {
  const plain = planLaunch(input(false));
  assert.equal(plain.anvilNetwork?.mode, 'session');
  assert.equal(plain.relay, null);
  assert.ok(plain.anvilArgv.includes(plain.network!.name));
  const own = planLaunch(input(true, ['docker', 'run', '--network', 'mine', 'tongs-anvil:local']));
  assert.equal(own.anvilNetwork?.mode, 'session');
  assert.equal(own.relay, null);
});

test('behind the relay the session network is internal; only tongs with egress also join the egress network', () => {
  const split = planLaunch({
    ...input(true),
    tongs: [
      tong('db', { interface: { kind: 'port', port: 5432 } }),
      tong('github', { interface: { kind: 'mcp', name: 'github', port: 8080 }, egress: true }),
      tong('model-api', { interface: { kind: 'model', dialect: 'anthropic', port: 8081 } }),
      tong('egress', { interface: { kind: 'egress', port: 3128 } }),
      tong('onhost', { interface: { kind: 'none' }, hosts: ['host.docker.internal:host-gateway'] }),
      tong('sealed', { interface: { kind: 'none' }, hosts: ['ghe.corp:10.1.2.3'], egress: false }),
    ],
  });
  assert.deepEqual(split.network, { name: 'tongs-tongs-abcdef12', labels: { ...split.labels, 'dev.tongs.role': 'network' }, internal: true });
  assert.deepEqual(split.egressNetwork, {
    name: 'tongs-tongs-abcdef12-egress',
    labels: { ...split.labels, 'dev.tongs.role': 'egress-network' },
    internal: false,
  });
  // Defaults: model, egress and tongs with hosts reach out; others only when they say so.
  assert.deepEqual(
    Object.fromEntries(split.tongs.map((t) => [t.name, t.egress])),
    { db: false, github: true, 'model-api': true, egress: true, onhost: true, sealed: false },
  );
  // No tong with egress: no egress network at all.
  const none = planLaunch(input(true));
  assert.equal(none.network?.internal, true);
  assert.equal(none.egressNetwork, null);
  // An engine whose internal networks cannot carry the tongs' own traffic (Podman 4.3): one ordinary network, said.
  const podman = planLaunch({ ...input(true), internalNetworks: false, tongs: [tong('db', { interface: { kind: 'port', port: 5432 } }), tong('egress', { interface: { kind: 'egress', port: 3128 } })] });
  assert.equal(podman.network?.internal, false);
  assert.equal(podman.egressNetwork, null);
  assert.ok(podman.warnings.some((w) => /one ordinary network on this engine/.test(w)), podman.warnings.join('\n'));
  // Every tong with egress: one ordinary network, no second one.
  const all = planLaunch({ ...input(true), tongs: [tong('github', { interface: { kind: 'mcp', name: 'github', port: 8080 }, egress: true }), tong('egress', { interface: { kind: 'egress', port: 3128 } })] });
  assert.equal(all.network?.internal, false);
  assert.equal(all.egressNetwork, null);
  // Without the relay the anvil is on the session network, which stays ordinary, and there is no second one.
  const plain = planLaunch({ ...input(false), tongs: [tong('github', { interface: { kind: 'mcp', name: 'github', port: 8080 }, egress: true })] });
  assert.equal(plain.network?.internal, false);
  assert.equal(plain.egressNetwork, null);
});

test('relay targets: both forms parse; a bad entry is named', () => {
  assert.deepEqual(parseRelayTargets('github@127.0.0.2:8080,db@127.0.0.3:5432', 'anvil'), [
    { alias: 'github', ip: '127.0.0.2', port: 8080 },
    { alias: 'db', ip: '127.0.0.3', port: 5432 },
  ]);
  assert.deepEqual(parseRelayTargets('github:8080', 'tong'), [{ alias: 'github', ip: null, port: 8080 }]);
  assert.throws(() => parseRelayTargets('github@10.0.0.1:80', 'anvil'), /bad TONGS_RELAY entry 'github@10\.0\.0\.1:80'/);
  assert.throws(() => parseRelayTargets('x', 'tong'), /expected alias:port/);
});

test('a connection to the anvil side reaches the tong through the socket dir, both ways', async (t) => {
  const dir = await tempDir(t, 'tongs-relay-');
  // The "tong": an echo server on 127.0.0.1, reached by the tong half as alias `localhost`.
  const tongServer = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => tongServer.listen(0, '127.0.0.1', r));
  const port = (tongServer.address() as net.AddressInfo).port;
  const servers = [
    ...(await startRelay('tong', [{ alias: 'localhost', port, ip: null }], dir)),
    ...(await startRelay('anvil', [{ alias: 'localhost', port, ip: '127.0.0.7' }], dir)),
  ];
  t.after(() => {
    for (const s of [...servers, tongServer]) s.close();
  });
  assert.ok(path.join(dir, `localhost-${port}.sock`));
  const reply = await new Promise<string>((resolve, reject) => {
    const c = net.connect(port, '127.0.0.7', () => c.end('hello through the relay'));
    let got = '';
    c.on('data', (d) => (got += d.toString())).on('end', () => resolve(got)).on('error', reject);
  });
  assert.equal(reply, 'hello through the relay');
});
