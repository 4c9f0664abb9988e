/**
 * The seal's rule 5 on a real engine (DESIGN.md "The seal", issue #11 "Egress"): with `--anvil-relay`
 * the anvil has no network interface but loopback; it reaches its tong through the relay under the
 * tong's usual alias and port, and nothing else — not a TCP listener on the host's `0.0.0.0` at the
 * docker0 address, not a DNS resolver on the host. The same anvil on the session network (no relay)
 * reaches the host listener: the control that shows the probe can see a leak. Behind the relay the
 * tongs' own network is internal, and only a tong with `egress` reaches beyond the host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { BASE_IMAGE, TEST_LABEL, TEST_MCP_IMAGE, buildTestImages, cleanupByLabel, launchTongs, managedLeftovers, requireDocker, runTongs, sessionOfLauncher, tongLayer } from '../support/docker.js';

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

/**
 * An address beyond this host, the way the internet is: a network namespace behind a veth pair,
 * reached only through the host's forwarding (an address of the host itself would be local delivery,
 * which an internal network on Engine 20.10 does not stop). Serves HTTP 200 at http://IP:PORT/.
 */
async function outsideServer(t: import('node:test').TestContext): Promise<{ ip: string; port: number }> {
  const tag = randomBytes(2).toString('hex');
  const ns = `tongs-out-${tag}`;
  const [host, peer] = [`tov${tag}a`, `tov${tag}b`];
  const third = 1 + (parseInt(tag, 16) % 250);
  const [hostIp, ip] = [`10.213.${third}.1`, `10.213.${third}.2`];
  const sh = (...argv: string[]) => execFileSync('ip', argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  sh('netns', 'add', ns);
  t.after(() => {
    try { sh('netns', 'del', ns); } catch {}
    try { sh('link', 'del', host); } catch {}
  });
  sh('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
  sh('link', 'set', peer, 'netns', ns);
  sh('addr', 'add', `${hostIp}/30`, 'dev', host);
  sh('link', 'set', host, 'up');
  sh('netns', 'exec', ns, 'ip', 'addr', 'add', `${ip}/30`, 'dev', peer);
  sh('netns', 'exec', ns, 'ip', 'link', 'set', peer, 'up');
  sh('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
  sh('netns', 'exec', ns, 'ip', 'route', 'add', 'default', 'via', hostIp);
  const port = 8099;
  const server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e',
    `require('node:http').createServer((q, s) => s.end('outside')).listen(${port}, '${ip}', () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => { server.kill('SIGKILL'); });
  await new Promise<void>((resolve, reject) => {
    server.stdout!.once('data', () => resolve());
    server.once('exit', (code) => reject(new Error(`the outside server exited ${code}`)));
  });
  return { ip, port };
}

const REACH = (url: string) => `require('node:http').get(${JSON.stringify(url)}, { timeout: 3000 }, (r) => { console.log('reached ' + r.statusCode); process.exit(0); })
  .on('timeout', function () { console.log('unreachable timeout'); process.exit(0); }).on('error', (e) => { console.log('unreachable ' + e.code); process.exit(0); });`;

test('behind the relay the tongs network is internal: only a tong with egress, on the egress network, reaches beyond the host', { timeout: 180_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await buildTestImages(TEST_MCP_IMAGE);
  t.after(() => cleanupByLabel(runtime, TEST_LABEL, RUN_ID));
  const outside = await outsideServer(t);
  // The control, from the host's own side of the bridge: a container on an ordinary network gets there.
  const control = execFileSync('docker', ['run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, BASE_IMAGE, 'node', '-e', REACH(`http://${outside.ip}:${outside.port}/`)], { encoding: 'utf8' });
  assert.match(control, /reached 200/, 'an ordinary bridge container reaches the outside server');

  const layer = await tongLayer(t, {
    inward: `image: ${TEST_MCP_IMAGE}\ninterface: { kind: mcp, port: 8080, name: inward }\n`,
    outward: `image: ${TEST_MCP_IMAGE}\ninterface: { kind: mcp, port: 8081, name: outward }\nenv: { PORT: "8081" }\negress: true\n`,
  });
  const launcher = launchTongs(t, runtime, [
    'run', '--quiet', '--user-tongs', layer, '--harness', 'claude', '--anvil-relay', '--',
    'docker', 'run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, ANVIL, 'node', '-e', 'setTimeout(() => {}, 120_000)', '--',
  ]);
  const session = await sessionOfLauncher(runtime, launcher.child.pid!);
  const tongs = async () => (await runtime.listContainers({ 'dev.tongs.session': session, 'dev.tongs.role': 'tong' })).filter((c) => c.state === 'running');
  const deadline = Date.now() + 60_000;
  while ((await tongs()).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const byName = new Map((await tongs()).map((c) => [c.labels['dev.tongs.tong'], c]));
  assert.equal(byName.size, 2, `both tongs run: ${launcher.output().stderr}`);

  const nets = await runtime.listNetworks({ 'dev.tongs.session': session });
  const inspect = (name: string) => JSON.parse(execFileSync('docker', ['network', 'inspect', name], { encoding: 'utf8' }))[0] as { Internal: boolean; Labels: Record<string, string> };
  const roles = Object.fromEntries(nets.map((n) => [n.labels['dev.tongs.role'], inspect(n.name).Internal]));
  if ((await runtime.engineInfo()).podman) {
    // Podman 4.3's internal networks drop their own containers' traffic on this host (Docker set the
    // FORWARD policy to DROP): the plan keeps one ordinary network there, and says so.
    assert.deepEqual(roles, { network: false });
    launcher.child.kill('SIGINT');
    const done = await launcher.done;
    assert.match(done.stderr, /one ordinary network on this engine/);
    assert.deepEqual(await managedLeftovers(runtime), []);
    return;
  }
  assert.deepEqual(roles, { network: true, 'egress-network': false }, 'an internal session network and an ordinary egress network');
  const named = (role: string) => nets.filter((n) => n.labels['dev.tongs.role'] === role).map((n) => n.name);
  assert.deepEqual(byName.get('inward')!.networks, named('network'), 'the tong without egress is on the internal network only');
  assert.deepEqual(byName.get('outward')!.networks, named('egress-network'), 'the tong with egress is on the egress network only');
  const relay = (await runtime.listContainers({ 'dev.tongs.session': session, 'dev.tongs.role': 'relay' }))[0];
  assert.deepEqual(relay?.networks.sort(), nets.map((n) => n.name).sort(), 'the relay is on both, so the anvil reaches every tong');

  const exec = (tong: string, url: string) => {
    const r = spawnSync('docker', ['exec', byName.get(tong)!.id, 'node', '-e', REACH(url)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `docker exec in ${tong}: ${r.stderr}\nlauncher: ${launcher.output().stderr}`);
    return r.stdout;
  };
  const probe = (tong: string) => exec(tong, `http://${outside.ip}:${outside.port}/`);
  assert.match(probe('outward'), /reached 200/, 'the tong with egress reaches the outside server');
  assert.match(probe('inward'), /unreachable/, 'the tong without egress does not');
  // A tong reaches only the tongs of its own network.
  assert.match(exec('inward', 'http://outward:8081/mcp'), /unreachable/);

  launcher.child.kill('SIGINT');
  const done = await launcher.done;
  assert.equal(done.status, 130, done.stderr);
  assert.deepEqual(await managedLeftovers(runtime), [], 'teardown removed both networks');
});
