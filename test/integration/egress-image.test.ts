// The egress tong image (tongs-egress:local, `make egress-image`) on the real engine (issue #11
// item 2): the tong runs on a user-made network, and a test container (tongs-base:local running
// node) uses it as its HTTP proxy. Hosts listed in TONGS_EGRESS_ALLOW — test upstreams listening on
// the host's docker0 address, by address and by a name the tong's /etc/hosts knows — answer through
// it (plain GET and a CONNECT tunnel); an unlisted host:port gets 403 with the body, and its
// upstream sees nothing. The tong runs as nobody, logs one line per refusal, refuses to start
// with a bad list, and exits 0 on `docker stop`. Everything is removed by label afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BASE_IMAGE, REPO_ROOT, requireDocker, TEST_LABEL } from '../support/docker.js';

const run = promisify(execFile);
const IMAGE = 'tongs-egress:local';
const RUN_ID = `egress-image-${process.pid}-${randomBytes(3).toString('hex')}`;

async function docker(...args: string[]): Promise<string> {
  return (await run('docker', args, { maxBuffer: 16 * 1024 * 1024 })).stdout.trim();
}

async function logsOf(container: string): Promise<string> {
  const { stdout, stderr } = await run('docker', ['logs', container], { maxBuffer: 16 * 1024 * 1024 });
  return stdout + stderr;
}

/** Builds the image when absent or stale (a no-op when its inputs are unchanged). */
async function ensureImage(): Promise<void> {
  const staged = existsSync(join(REPO_ROOT, 'sidecars/egress/.build/app/node_modules/.package-lock.json'));
  if (staged) await run('bash', [join(REPO_ROOT, 'sidecars/egress/build-image.sh'), IMAGE, BASE_IMAGE], { cwd: REPO_ROOT });
  else await run('make', ['-s', 'egress-image'], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
}

/**
 * The host's address on docker0: containers on any bridge network reach the host there. Node lists
 * only interfaces that are up, and docker0 is down while no container uses the default bridge, so
 * `ip` is asked next.
 */
async function docker0Address(): Promise<string> {
  const local = os.networkInterfaces().docker0?.find((a) => a.family === 'IPv4')?.address;
  if (local) return local;
  const ip = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', 'docker0']).then((r) => /inet (\d+\.\d+\.\d+\.\d+)\//.exec(r.stdout)?.[1], () => undefined);
  if (ip) return ip;
  const gw = await docker('network', 'inspect', 'bridge', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}').catch(() => '');
  if (gw) return gw;
  throw new Error('cannot find the docker0 address of this host (no docker0 interface, no bridge gateway)');
}

async function listen(server: net.Server, host: string): Promise<number> {
  server.listen(0, host);
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

// Runs in the test container: a GET through the proxy to each URL, and a CONNECT tunnel to each
// target carrying "ping"; prints the results as one JSON line. Waits for the proxy to listen first.
const CLIENT_SCRIPT = `
const http = require('node:http'); const net = require('node:net');
const proxy = { host: 'egress', port: 3128 };
const [gets, tunnels] = JSON.parse(process.argv[1]);
const get = (url, headers) => new Promise((resolve) => {
  const r = http.request({ ...proxy, path: url, headers }, (res) => {
    let body = ''; res.setEncoding('utf8').on('data', (d) => body += d);
    res.on('end', () => resolve({ status: res.statusCode, body }));
  });
  r.on('error', (e) => resolve({ error: e.message })); r.end();
});
const tunnel = (target) => new Promise((resolve) => {
  const r = http.request({ ...proxy, method: 'CONNECT', path: target });
  r.on('connect', (res, socket, head) => {
    if (res.statusCode !== 200) {
      let body = head.toString(); socket.on('data', (d) => body += d); socket.on('end', () => resolve({ status: res.statusCode, body })); return;
    }
    let echo = ''; socket.setEncoding('utf8'); socket.on('data', (d) => { echo += d; if (echo.length >= 4) { socket.destroy(); resolve({ status: 200, echo }); } });
    socket.write('ping');
  });
  r.on('error', (e) => resolve({ error: e.message })); r.end();
});
(async () => {
  for (let i = 0; ; i++) {
    const ok = await new Promise((r) => { const s = net.connect(proxy, () => { s.destroy(); r(true); }); s.on('error', () => r(false)); });
    if (ok) break;
    if (i > 150) { console.log(JSON.stringify({ error: 'the proxy never listened' })); return; }
    await new Promise((r) => setTimeout(r, 100));
  }
  const out = { gets: [], tunnels: [] };
  for (const [url, headers] of gets) out.gets.push(await get(url, headers));
  for (const target of tunnels) out.tunnels.push(await tunnel(target));
  console.log(JSON.stringify(out));
})();`;

test('the egress tong image lets a container reach listed hosts only', async (t) => {
  if (!(await requireDocker(t))) return;
  const t0 = Date.now();
  const phase = (name: string) => t.diagnostic(`${name}: ${Date.now() - t0} ms`);
  await ensureImage();
  phase('image ready');
  t.after(async () => {
    const ids = await docker('ps', '-aq', '--filter', `label=${TEST_LABEL}=${RUN_ID}`);
    if (ids) await docker('rm', '-f', ...ids.split('\n'));
    const nets = await docker('network', 'ls', '-q', '--filter', `label=${TEST_LABEL}=${RUN_ID}`);
    if (nets) await docker('network', 'rm', ...nets.split('\n'));
  });

  // Upstreams on the host's docker0 address: one listed HTTP server, one listed TCP echo, one unlisted.
  const hostAddr = await docker0Address();
  const seen: string[] = [];
  const listed = http.createServer((req, res) => {
    seen.push(`listed ${req.headers.host} ${req.url}`);
    res.end(`hello from the listed upstream, host=${req.headers.host}`);
  });
  const unlistedHits: string[] = [];
  const unlisted = http.createServer((req, res) => {
    unlistedHits.push(req.url ?? '');
    res.end('you should not see this');
  });
  const echo = net.createServer((s) => {
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  const listedPort = await listen(listed, hostAddr);
  const unlistedPort = await listen(unlisted, hostAddr);
  const echoPort = await listen(echo, hostAddr);
  t.after(() => {
    listed.closeAllConnections();
    unlisted.closeAllConnections();
    for (const s of [listed, unlisted, echo]) s.close();
  });

  await docker('network', 'create', '--label', `${TEST_LABEL}=${RUN_ID}`, RUN_ID);
  const allow = [`${hostAddr}:${listedPort}`, `${hostAddr}:${echoPort}`, `*.upstream.test:${listedPort}`].join(',');
  const tong = await docker(
    'run', '-d', '--name', `${RUN_ID}-egress`, '--network', RUN_ID, '--network-alias', 'egress', '--label', `${TEST_LABEL}=${RUN_ID}`,
    '--add-host', `api.upstream.test:${hostAddr}`, '--add-host', `upstream.test:${hostAddr}`,
    '-e', `TONGS_EGRESS_ALLOW=${allow}`, '-e', 'TONGS_EGRESS_FILES=/home/me/.tongs/egress.yaml\n/w/.tongs/egress.yaml',
    IMAGE,
  );
  phase('tong started');

  const gets: [string, Record<string, string>?][] = [
    [`http://${hostAddr}:${listedPort}/by-address`],
    [`http://API.upstream.test:${listedPort}/by-name`],
    [`http://${hostAddr}:${unlistedPort}/unlisted`],
    [`http://upstream.test:${listedPort}/wildcard-is-not-the-domain`],
    [`http://${hostAddr}:${unlistedPort}/host-header`, { host: `${hostAddr}:${listedPort}` }],
  ];
  const tunnels = [`${hostAddr}:${echoPort}`, `${hostAddr}:${unlistedPort}`, 'registry.npmjs.org:443'];
  const client = await run(
    'docker',
    ['run', '--rm', '--network', RUN_ID, '--label', `${TEST_LABEL}=${RUN_ID}`, '--user', '65534:65534', BASE_IMAGE, 'node', '-e', CLIENT_SCRIPT, JSON.stringify([gets, tunnels])],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  phase('client done');
  const out = JSON.parse(client.stdout.trim().split('\n').at(-1)!) as {
    gets: { status?: number; body?: string; error?: string }[];
    tunnels: { status?: number; body?: string; echo?: string; error?: string }[];
  };
  const logs = await logsOf(tong);
  const why = `client: ${client.stdout}${client.stderr}\ntong: ${logs}`;

  // Listed: by address and by a name below the wildcard.
  assert.equal(out.gets[0]?.status, 200, why);
  assert.equal(out.gets[0]?.body, `hello from the listed upstream, host=${hostAddr}:${listedPort}`);
  assert.equal(out.gets[1]?.status, 200, why);
  assert.equal(out.gets[1]?.body, `hello from the listed upstream, host=api.upstream.test:${listedPort}`);
  // Unlisted port, the wildcard's own domain, and a Host header naming a listed host: 403.
  for (const i of [2, 3, 4]) {
    assert.equal(out.gets[i]?.status, 403, `${gets[i]![0]}: ${why}`);
    assert.match(out.gets[i]!.body ?? '', /the host is not on the egress allowlist/);
    assert.match(out.gets[i]!.body ?? '', /add it to \/home\/me\/\.tongs\/egress\.yaml/);
  }
  assert.match(out.gets[2]!.body ?? '', new RegExp(`refused GET ${hostAddr.replace(/\./g, '\\.')}:${unlistedPort}`));
  // CONNECT: the listed echo tunnels, the others are refused.
  assert.deepEqual(out.tunnels[0], { status: 200, echo: 'ping' }, why);
  assert.equal(out.tunnels[1]?.status, 403, why);
  assert.match(out.tunnels[1]?.body ?? '', new RegExp(`refused CONNECT ${hostAddr.replace(/\./g, '\\.')}:${unlistedPort}`));
  assert.equal(out.tunnels[2]?.status, 403, why);
  assert.deepEqual(unlistedHits, [], 'the unlisted upstream received nothing');
  assert.deepEqual(seen, [`listed ${hostAddr}:${listedPort} /by-address`, `listed api.upstream.test:${listedPort} /by-name`]);

  // One log line per refusal, naming host:port, and nothing of the requests' paths.
  const refusals = logs.split('\n').filter((l) => l.includes('refused'));
  assert.equal(refusals.length, 5, logs);
  assert.ok(refusals.every((l) => l.startsWith('tongs: egress: refused ')), logs);
  assert.doesNotMatch(logs, /\/unlisted|\/host-header|\/by-name/);
  assert.match(logs, /tongs: egress: listening on 0\.0\.0\.0:3128 \(allowing /);

  // Non-root; docker stop (SIGTERM) ends it with status 0.
  assert.equal(await docker('exec', tong, 'id', '-u'), '65534');
  await docker('stop', '-t', '10', tong);
  assert.equal(await docker('inspect', '-f', '{{.State.ExitCode}}', tong), '0');
  phase('checks done');
});

test('the egress tong refuses to start with an invalid allowlist', async (t) => {
  if (!(await requireDocker(t))) return;
  await ensureImage();
  const name = `${RUN_ID}-bad`;
  t.after(() => docker('rm', '-f', name).catch(() => ''));
  const r = await run('docker', ['run', '--name', name, '--label', `${TEST_LABEL}=${RUN_ID}`, '--network', 'none', '-e', 'TONGS_EGRESS_ALLOW=ok.example,https://bad.example/', IMAGE]).then(
    () => ({ code: 0, stderr: '' }),
    (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /tongs: egress: allowlist entry 2: "https:\/\/bad\.example\/" is not a host/);
  assert.match(r.stderr, /not starting: fix the configuration/);
});
