// Benchmark of the egress tong (issue #11 "Speed": idle RSS of the egress tong ≤ 30 MB), run by
// `make bench-egress` (and `make bench`):
//  1. resident memory of the idle proxy: fresh, right after a burst of requests, and after a quiet
//     spell; with the split into private (anonymous) memory and the file-backed pages of the node
//     binary, and the same figures for a bare node http server (Node's own floor) in the same run;
//     then the image itself under Docker (VmRSS of its process and the container's memory as
//     `docker stats` counts it), when an engine answers;
//  2. the latency a proxied request adds, medians of interleaved runs: a plain GET over kept-alive
//     connections (client → proxy → upstream vs client → upstream), and a new CONNECT tunnel up to
//     its first echoed byte vs a direct TCP connect and echo.
// Traffic goes to 127.0.0.1 only (upstreams in this process). The proxy runs as the image runs it:
// the node flags of sidecars/egress/Dockerfile's ENTRYPOINT and its `ENV MALLOC_*` lines
// (BENCH_NODE_FLAGS="..." overrides them for A/B runs). Measures only; asserts nothing.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'dist/sidecars/egress/src/main.js');
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 300);
const BURST = Number(process.env.BENCH_BURST ?? 2000);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
const IMAGE = process.env.EGRESS_IMAGE ?? 'tongs-egress:local';
const DOCKERFILE = readFileSync(join(ROOT, 'sidecars/egress/Dockerfile'), 'utf8');

function imageNodeFlags(): string[] {
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(DOCKERFILE);
  if (!line) throw new Error('sidecars/egress/Dockerfile has no exec-form ENTRYPOINT');
  return (JSON.parse(line[1]!) as string[]).slice(1, -1);
}
const OVERRIDDEN = process.env.BENCH_NODE_FLAGS !== undefined;
const NODE_FLAGS = OVERRIDDEN ? process.env.BENCH_NODE_FLAGS!.split(/\s+/).filter(Boolean) : imageNodeFlags();
const MALLOC_ENV: Record<string, string> = Object.fromEntries(
  [...DOCKERFILE.matchAll(/^ENV\s+(MALLOC_[A-Z_]+)=(\S+)\s*$/gm)].map((m) => [m[1]!, m[2]!]),
);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** CPU time (user + system) a process has used, in ms (from /proc/PID/stat, in clock ticks of 10 ms). */
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

interface Memory {
  rss: number;
  anon: number;
  file: number;
}
const memoryOf = (status: string): Memory => {
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
};
const memoryOfPid = (pid: number) => memoryOf(readFileSync(`/proc/${pid}/status`, 'utf8'));
const fmt = (m: Memory) => `${m.rss.toFixed(1)} MB (${m.anon.toFixed(1)} private + ${m.file.toFixed(1)} file)`;

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** Starts a node process and waits for its "listening on …:PORT" line on stderr. */
async function startNode(args: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /listening on [\d.]+:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`process exited ${code}: ${stderr}`)));
  });
  return { child, port };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

/** One GET; resolves its duration in ms. `path` is absolute-form when sent to the proxy. */
function timedGet(agent: http.Agent, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const req = http.request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A new TCP connection (direct, or a CONNECT tunnel through the proxy) up to one echoed byte; ms. */
function timedEcho(port: number, via?: { proxyPort: number }): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const echoOnce = (socket: net.Socket) => {
      socket.once('data', () => {
        const ms = performance.now() - t;
        socket.destroy();
        resolve(ms);
      });
      socket.write('x');
    };
    if (!via) {
      const s = net.connect(port, '127.0.0.1', () => echoOnce(s));
      s.on('error', reject);
      return;
    }
    const req = http.request({ host: '127.0.0.1', port: via.proxyPort, method: 'CONNECT', path: `127.0.0.1:${port}`, agent: false });
    req.on('connect', (res, socket) => (res.statusCode === 200 ? echoOnce(socket) : reject(new Error(`CONNECT ${res.statusCode}`))));
    req.on('error', reject);
    req.end();
  });
}

/** The image under Docker: its process's memory, and the container's as `docker stats` shows it. */
async function imageMemory(): Promise<{ proc: Memory; stats: string } | string> {
  try {
    await run('docker', ['image', 'inspect', IMAGE]);
  } catch {
    return `no image ${IMAGE} (make egress-image) or no engine`;
  }
  const name = `tongs-egress-bench-${process.pid}`;
  try {
    await run('docker', ['run', '-d', '--rm', '--name', name, '--network', 'none', '--label', 'dev.tongs.test=egress-bench', '-e', 'TONGS_EGRESS_ALLOW=registry.npmjs.org,*.example.com', IMAGE]);
    for (let i = 0; i < 100; i++) {
      const { stdout, stderr } = await run('docker', ['logs', name]);
      if (/listening on/.test(stdout + stderr)) break;
      await sleep(100);
    }
    await sleep(2000);
    const { stdout: status } = await run('docker', ['exec', name, 'cat', '/proc/1/status']);
    const { stdout: stats } = await run('docker', ['stats', '--no-stream', '--format', '{{.MemUsage}}', name]);
    return { proc: memoryOf(status), stats: stats.trim().split(' / ')[0]! };
  } catch (err) {
    return `docker: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    await run('docker', ['rm', '-f', name]).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const body = 'x'.repeat(512);
  const upstream = http.createServer((_req, res) => res.end(body));
  const echo = net.createServer((s) => {
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  const upPort = await listen(upstream);
  const echoPort = await listen(echo);

  // Node's own floor: a bare http server, same flags.
  const bare = await startNode(
    [...NODE_FLAGS, '-e', "const s=require('node:http').createServer((q,r)=>r.end()).listen(0,'127.0.0.1',()=>process.stderr.write('listening on 127.0.0.1:'+s.address().port+'\\n'))"],
    MALLOC_ENV,
  );
  await sleep(1500);
  const bareMem = memoryOfPid(bare.child.pid!);
  await stop(bare.child);

  const proxy = await startNode([...NODE_FLAGS, BIN], {
    ...MALLOC_ENV,
    PORT: '0',
    TONGS_EGRESS_ALLOW: `127.0.0.1:${upPort},127.0.0.1:${echoPort}`,
  });
  await sleep(1500);
  const fresh = memoryOfPid(proxy.child.pid!);

  const directAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const proxyAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const url = `http://127.0.0.1:${upPort}/bench`;
  // Warm-up, then interleaved runs so both see the same machine.
  for (let i = 0; i < 50; i++) {
    await timedGet(directAgent, upPort, '/bench');
    await timedGet(proxyAgent, proxy.port, url);
    await timedEcho(echoPort);
    await timedEcho(echoPort, { proxyPort: proxy.port });
  }
  const direct: number[] = [];
  const proxied: number[] = [];
  const tcpDirect: number[] = [];
  const tunnel: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    direct.push(await timedGet(directAgent, upPort, '/bench'));
    proxied.push(await timedGet(proxyAgent, proxy.port, url));
    tcpDirect.push(await timedEcho(echoPort));
    tunnel.push(await timedEcho(echoPort, { proxyPort: proxy.port }));
  }

  // A burst (16 concurrent clients, BURST requests and BURST/4 tunnels), then idle.
  const burstAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let sent = 0;
  const burstStart = performance.now();
  const cpuStart = cpuMs(proxy.child.pid!);
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (sent < BURST) {
        sent++;
        await timedGet(burstAgent, proxy.port, url);
        if (sent % 4 === 0) await timedEcho(echoPort, { proxyPort: proxy.port });
      }
    }),
  );
  const burstSeconds = (performance.now() - burstStart) / 1000;
  const burstCpu = cpuMs(proxy.child.pid!) - cpuStart;
  const afterBurst = memoryOfPid(proxy.child.pid!);
  for (const a of [directAgent, proxyAgent, burstAgent]) a.destroy();
  await sleep(IDLE_SECONDS * 1000);
  const idle = memoryOfPid(proxy.child.pid!);
  await stop(proxy.child);
  upstream.close();
  echo.close();

  const image = await imageMemory();

  const row = (name: string, value: string, target = '', result = '') =>
    console.log(`| ${name.padEnd(52)} | ${value.padStart(36)} | ${target.padEnd(8)} | ${result.padEnd(6)} |`);
  const envText = Object.entries(MALLOC_ENV).map(([k, v]) => `${k}=${v} `).join('');
  console.log(`egress tong benchmark — node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)}`);
  console.log(`proxy started as: ${envText}node ${[...NODE_FLAGS, 'dist/sidecars/egress/src/main.js'].join(' ')} ${OVERRIDDEN ? '(overridden by BENCH_NODE_FLAGS)' : '(as the image runs it)'}`);
  console.log(`${ITERATIONS} interleaved runs each; upstreams on 127.0.0.1; RSS = VmRSS (private + file-backed pages)`);
  console.log(`| ${'measure'.padEnd(52)} | ${'value'.padStart(36)} | ${'target'.padEnd(8)} | result |`);
  console.log(`|${'-'.repeat(54)}|${'-'.repeat(38)}|${'-'.repeat(10)}|--------|`);
  const ms = (xs: number[]) => `${median(xs).toFixed(3)} (p90 ${pct(xs, 0.9).toFixed(2)}) ms`;
  row('GET, kept-alive, direct: median', ms(direct));
  row('GET, kept-alive, through the proxy: median', ms(proxied));
  row('  added by the proxy (median − median)', `${(median(proxied) - median(direct)).toFixed(3)} ms`);
  row('new TCP connection + echo, direct: median', ms(tcpDirect));
  row('new CONNECT tunnel + echo, through the proxy: median', ms(tunnel));
  row('  added by the proxy (median − median)', `${(median(tunnel) - median(tcpDirect)).toFixed(3)} ms`);
  row(`burst, 16 clients: GETs/s (a tunnel every 4th)`, `${(BURST / burstSeconds).toFixed(0)}/s`);
  row('  proxy CPU per GET (tunnels included)', `${(burstCpu / BURST).toFixed(3)} ms`);
  row('bare node http server, same flags (Node floor)', fmt(bareMem));
  row('proxy RSS idle, fresh', fmt(fresh), '≤ 30 MB', fresh.rss <= 30 ? 'met' : 'MISSED');
  row(`proxy RSS right after ${BURST} GETs + ${BURST / 4} tunnels`, fmt(afterBurst));
  row(`proxy RSS idle, ${IDLE_SECONDS} s after the burst`, fmt(idle), '≤ 30 MB', idle.rss <= 30 ? 'met' : 'MISSED');
  if (typeof image === 'string') row('image under Docker', image);
  else {
    row(`image ${IMAGE}: RSS of its process, idle`, fmt(image.proc), '≤ 30 MB', image.proc.rss <= 30 ? 'met' : 'MISSED');
    row(`image ${IMAGE}: container memory (docker stats)`, image.stats);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`tongs: egress bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
