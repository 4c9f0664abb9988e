/**
 * The seal's rule 5 on a real engine (DESIGN.md "The seal", issue #11 "Egress"): with `--anvil-relay`
 * the anvil has no network interface but loopback; it reaches its tong through the relay under the
 * tong's usual alias and port, and nothing else — not a TCP listener on the host's `0.0.0.0` at the
 * docker0 address, not a DNS resolver on the host. The same anvil on the session network (no relay)
 * reaches the host listener: the control that shows the probe can see a leak.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { TEST_LABEL, TEST_MCP_IMAGE, buildTestImages, cleanupByLabel, managedLeftovers, requireDocker, runTongs, tongLayer } from '../support/docker.js';

const ANVIL = 'tongs-anvil:local';
const RUN_ID = `seal-net-${randomBytes(3).toString('hex')}`;

/** The docker0 address: where a container on a bridge reaches the host. */
function docker0(): string {
  const out = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'docker0'], { encoding: 'utf8' });
  const ip = /inet (\d+\.\d+\.\d+\.\d+)/.exec(out)?.[1];
  assert.ok(ip, `no docker0 address: ${out}`);
  return ip;
}

const PROBE = `
const net = require('node:net'), dns = require('node:dns'), os = require('node:os');
const connect = (host, port) => new Promise((r) => {
  const s = net.connect(port, host); s.setTimeout(3000);
  s.on('connect', () => { s.destroy(); r('open'); });
  s.on('error', (e) => r(e.code)); s.on('timeout', () => { s.destroy(); r('timeout'); });
});
(async () => {
  const out = {};
  out.host = await connect(process.env.HOST_IP, Number(process.env.HOST_PORT));
  // The anvil's own default gateway, if it has one (/proc/net/route: little-endian hex).
  const route = require('node:fs').readFileSync('/proc/net/route', 'utf8').split('\\n').slice(1).map((l) => l.trim().split(/\\s+/)).find((f) => f[1] === '00000000');
  const gw = route && route[2].match(/../g).reverse().map((h) => parseInt(h, 16)).join('.');
  out.gateway = gw ? await connect(gw, Number(process.env.HOST_PORT)) : 'no default route';
  out.tong = await connect('tongtest', 8080);
  out.dns = await new Promise((r) => dns.resolve4('example.com', (e) => r(e ? e.code : 'resolved')));
  out.interfaces = Object.keys(os.networkInterfaces()).sort();
  console.log('RESULT ' + JSON.stringify(out));
})();`;

test('with the relay, the anvil reaches its tong and not the host, nor DNS on the host', { timeout: 180_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await buildTestImages(TEST_MCP_IMAGE);
  t.after(() => cleanupByLabel(runtime, TEST_LABEL, RUN_ID));
  const hostIp = docker0();
  // A TCP listener on every host address, and a DNS resolver on the docker0 address, counting what reaches them.
  let tcpHits = 0;
  const listener = net.createServer((s) => {
    tcpHits++;
    s.destroy();
  });
  await new Promise<void>((r) => listener.listen(0, '0.0.0.0', r));
  t.after(() => new Promise<void>((r) => listener.close(() => r())));
  const port = (listener.address() as net.AddressInfo).port;
  let dnsQueries = 0;
  const resolver = dgram.createSocket('udp4');
  resolver.on('message', () => dnsQueries++);
  const dnsPort = await new Promise<number>((resolve, reject) => {
    resolver.once('error', reject);
    resolver.bind(53, hostIp, () => resolve(53));
  }).catch(() => null);
  t.after(() => resolver.close());

  const layer = await tongLayer(t, { tongtest: `image: ${TEST_MCP_IMAGE}\ninterface: { kind: mcp, port: 8080, name: tongtest }\n` });
  const anvil = (relay: boolean) => [
    'run', '--quiet', '--user-tongs', layer, '--harness', 'claude', ...(relay ? ['--anvil-relay'] : []), '--',
    'docker', 'run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, '-e', `HOST_IP=${hostIp}`, '-e', `HOST_PORT=${port}`,
    // The test resolver only for the sealed run: the control needs the engine's own DNS for the alias.
    ...(dnsPort && relay ? ['--dns', hostIp] : []), ANVIL, 'node', '-e', PROBE, '--',
  ];
  const result = (stdout: string) => JSON.parse(/^RESULT (.*)$/m.exec(stdout)?.[1] ?? 'null') as Record<string, unknown> | null;

  const sealed = await runTongs(anvil(true));
  assert.equal(sealed.status, 0, sealed.stderr);
  const r = result(sealed.stdout);
  assert.ok(r, sealed.stdout + sealed.stderr);
  assert.deepEqual(r.interfaces, ['lo'], 'no network interface but loopback');
  assert.equal(r.tong, 'open', 'the tong answers at its alias and port, through the relay');
  assert.notEqual(r.host, 'open', `the host's 0.0.0.0 listener at the docker0 address is out of reach (${String(r.host)})`);
  assert.equal(r.gateway, 'no default route', 'the anvil has no gateway to try');
  assert.notEqual(r.dns, 'resolved');
  assert.equal(tcpHits, 0, 'no connection reached the host listener');
  if (dnsPort) assert.equal(dnsQueries, 0, 'no DNS query reached the resolver on the host');

  // The control: on the session network (no relay) the same probe reaches the host. Engine 20.10
  // routes a bridge container to the host's addresses; this is what the relay closes.
  const joined = await runTongs(anvil(false));
  assert.equal(joined.status, 0, joined.stderr);
  const j = result(joined.stdout);
  assert.equal(j?.tong, 'open');
  // At the docker0 address on Docker; on Podman, whose bridges are its own, at the network's gateway.
  assert.ok(j?.host === 'open' || j?.gateway === 'open', `without the relay the host listener answers (so the sealed probe above could have seen it): ${JSON.stringify(j)}`);
  assert.ok(tcpHits > 0);
  assert.deepEqual(await managedLeftovers(runtime), [], 'teardown removed the relay, its volume and the network');
  const volumes = execFileSync('docker', ['volume', 'ls', '-q', '--filter', 'label=dev.tongs.managed'], { encoding: 'utf8' }).trim();
  assert.equal(volumes, '', 'no socket volume is left');
});
