/**
 * The egress tong's proxy in process (issue #11 item 2, "The egress tong"), against local upstreams
 * on 127.0.0.1: CONNECT tunnels to a listed host:port and 403 with a body naming the file otherwise;
 * plain absolute-URI requests the same; the Host header cannot steer a request past the list;
 * requests aimed at the proxy itself, other schemes and dead upstreams get 400/502; each request on
 * a kept-alive connection is checked on its own; no body reaches the log.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { parseEgressEntries } from '../../launcher/core/egress-match.js';
import { createEgressProxy, type EgressProxyOptions } from '../../sidecars/egress/src/proxy.js';

const USER_FILE = '/home/me/.tongs/egress.yaml';

async function listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
  server.listen(0, host);
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** A TCP echo server (what a TLS-less tunnel reaches). */
async function echoServer(t: TestContext): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  const port = await listen(server);
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { port, connections: () => connections };
}

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** An HTTP upstream that records every request and answers with its Host header. */
async function httpUpstream(t: TestContext): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(201, { 'content-type': 'text/plain', 'x-upstream': 'yes' });
      res.end(`upstream saw host=${req.headers.host} url=${req.url}`);
    });
  });
  const port = await listen(server);
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { port, seen };
}

async function startProxy(t: TestContext, allow: string[], extra: Partial<EgressProxyOptions> = {}) {
  const { entries, errors } = parseEgressEntries(allow);
  assert.deepEqual(errors, []);
  const logs: string[] = [];
  const proxy = createEgressProxy({ entries, userFile: USER_FILE, files: [USER_FILE, '/w/.tongs/egress.yaml'], log: (l) => logs.push(l), ...extra });
  const port = await listen(proxy.server);
  t.after(() => proxy.close());
  return { port, logs, proxy };
}

/** Sends CONNECT target through the proxy; resolves the status, the body (on refusal) or the tunnel socket. */
function connect(proxyPort: number, target: string): Promise<{ status: number; body: string; socket: net.Socket; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: target });
    req.on('connect', (res, socket, head: Buffer) => {
      if (res.statusCode === 200) {
        resolve({ status: 200, body: '', socket, headers: res.headers });
        return;
      }
      // Bytes after the response head that arrived with it come as `head`, the rest on the socket.
      let body = head.toString('utf8');
      socket.setEncoding('utf8').on('data', (d: string) => (body += d));
      socket.on('end', () => resolve({ status: res.statusCode ?? 0, body, socket, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A request through the proxy: absolute-URI `target` sent to the proxy, with extra headers. */
function viaProxy(
  proxyPort: number,
  target: string,
  options: { headers?: Record<string, string>; method?: string; body?: string; agent?: http.Agent } = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: proxyPort, path: target, method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, reused: req.reusedSocket }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

async function echoThrough(socket: net.Socket, text: string): Promise<string> {
  let got = '';
  socket.setEncoding('utf8');
  const done = new Promise<void>((resolve) =>
    socket.on('data', (d: string) => {
      got += d;
      if (got.length >= text.length) resolve();
    }),
  );
  socket.write(text);
  await done;
  return got;
}

test('CONNECT to a listed host:port opens a tunnel that carries bytes both ways', async (t) => {
  const echo = await echoServer(t);
  const { port, logs } = await startProxy(t, [`127.0.0.1:${echo.port}`]);
  const { status, socket } = await connect(port, `127.0.0.1:${echo.port}`);
  assert.equal(status, 200);
  assert.equal(await echoThrough(socket, 'ping through the tunnel'), 'ping through the tunnel');
  socket.destroy();
  assert.equal(echo.connections(), 1);
  assert.deepEqual(logs, []);
});

test('CONNECT to an unlisted host, or a listed host on another port, gets 403 naming host:port and the file', async (t) => {
  const echo = await echoServer(t);
  const { port, logs } = await startProxy(t, ['127.0.0.1', 'registry.npmjs.org']);
  const refused = await connect(port, `127.0.0.1:${echo.port}`);
  assert.equal(refused.status, 403);
  assert.match(refused.body, new RegExp(`refused CONNECT 127\\.0\\.0\\.1:${echo.port}: the host is not on the egress allowlist`));
  assert.ok(refused.body.includes(`add it to ${USER_FILE}`), refused.body);
  assert.ok(refused.body.includes(`- "127.0.0.1:${echo.port}"`), refused.body);
  assert.ok(refused.body.includes('merged from: /home/me/.tongs/egress.yaml, /w/.tongs/egress.yaml'), refused.body);
  assert.equal(refused.headers['x-tongs-egress'], `tongs egress: refused CONNECT 127.0.0.1:${echo.port}: the host is not on the egress allowlist.`);
  const other = await connect(port, 'evil.example:443');
  assert.equal(other.status, 403);
  assert.ok(other.body.includes('- "evil.example"'), 'a 443/80 target suggests the bare host');
  assert.equal(echo.connections(), 0, 'a refused CONNECT dials nothing');
  assert.deepEqual(logs, [`refused CONNECT 127.0.0.1:${echo.port}: not on the allowlist`, 'refused CONNECT evil.example:443: not on the allowlist']);
});

/** Resolves every name to 127.0.0.1 (no DNS in tests), recording what was asked. */
function loopbackLookup(asked: string[]): net.LookupFunction {
  return ((hostname: string, options: unknown, callback: (...args: unknown[]) => void) => {
    asked.push(hostname);
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all;
    if (all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
  }) as unknown as net.LookupFunction;
}

test('CONNECT: wildcards, case and trailing dots are matched as the list says; the canonical name is dialled', async (t) => {
  const echo = await echoServer(t);
  const asked: string[] = [];
  const { port } = await startProxy(t, [`*.example.test:${echo.port}`], { lookup: loopbackLookup(asked) });
  const ok = await connect(port, `A.B.Example.TEST.:${echo.port}`);
  assert.equal(ok.status, 200);
  assert.equal(await echoThrough(ok.socket, 'wild'), 'wild');
  ok.socket.destroy();
  assert.deepEqual(asked, ['a.b.example.test']);
  assert.equal((await connect(port, `example.test:${echo.port}`)).status, 403);
  assert.equal((await connect(port, 'a.example.test:443')).status, 403);
  assert.equal((await connect(port, `a.example.test.evil:${echo.port}`)).status, 403);
  assert.equal((await connect(port, `[::1]:${echo.port}`)).status, 403);
  assert.deepEqual(asked, ['a.b.example.test'], 'refused targets are never resolved');
});

test('a plain GET to a listed name dials that name (wildcard, upper case)', async (t) => {
  const up = await httpUpstream(t);
  const asked: string[] = [];
  const { port } = await startProxy(t, [`*.example.test:${up.port}`], { lookup: loopbackLookup(asked) });
  const r = await viaProxy(port, `http://API.Example.test:${up.port}/x`);
  assert.equal(r.status, 201);
  assert.equal(up.seen[0]!.headers.host, `api.example.test:${up.port}`);
  assert.deepEqual(asked, ['api.example.test']);
});

test('CONNECT with a malformed target gets 400; a dead upstream 502', async (t) => {
  const { port, logs } = await startProxy(t, ['127.0.0.1:1']);
  assert.equal((await connect(port, 'no-port-here')).status, 400);
  assert.equal((await connect(port, 'a%2fb:443')).status, 400);
  const dead = await connect(port, '127.0.0.1:1');
  assert.equal(dead.status, 502);
  assert.match(dead.body, /cannot reach 127\.0\.0\.1:1: ECONNREFUSED/);
  assert.equal(logs.length, 3);
});

test('a plain GET to a listed host is forwarded; the upstream sees the URL authority as Host and no proxy headers', async (t) => {
  const up = await httpUpstream(t);
  const { port, logs } = await startProxy(t, [`127.0.0.1:${up.port}`]);
  const r = await viaProxy(port, `http://127.0.0.1:${up.port}/some/path?q=1`, {
    headers: { 'proxy-authorization': 'Basic c2VjcmV0', 'proxy-connection': 'keep-alive', 'x-custom': 'kept' },
  });
  assert.equal(r.status, 201);
  assert.equal(r.headers['x-upstream'], 'yes');
  assert.equal(r.body, `upstream saw host=127.0.0.1:${up.port} url=/some/path?q=1`);
  assert.equal(up.seen.length, 1);
  assert.equal(up.seen[0]!.headers['proxy-authorization'], undefined);
  assert.equal(up.seen[0]!.headers['proxy-connection'], undefined);
  assert.equal(up.seen[0]!.headers['x-forwarded-for'], undefined, 'the anvil address is not passed on');
  assert.equal(up.seen[0]!.headers['x-custom'], 'kept');
  assert.deepEqual(logs, []);
});

test('a plain POST body passes through and never reaches the log', async (t) => {
  const up = await httpUpstream(t);
  const { port, logs } = await startProxy(t, [`127.0.0.1:${up.port}`]);
  const secret = 'body-secret-0123456789';
  const ok = await viaProxy(port, `http://127.0.0.1:${up.port}/upload?token=query-secret`, { method: 'POST', body: secret });
  assert.equal(ok.status, 201);
  assert.equal(up.seen[0]!.body, secret);
  const no = await viaProxy(port, `http://127.0.0.2:${up.port}/upload?token=query-secret`, { method: 'POST', body: secret });
  assert.equal(no.status, 403);
  assert.equal(logs.length, 1);
  assert.ok(!logs.join('\n').includes(secret) && !logs.join('\n').includes('query-secret'), logs.join('\n'));
});

test('a plain GET to an unlisted host gets 403 with the body, and reaches nothing', async (t) => {
  const up = await httpUpstream(t);
  const { port, logs } = await startProxy(t, [`localhost:${up.port}`]);
  const r = await viaProxy(port, `http://127.0.0.1:${up.port}/`);
  assert.equal(r.status, 403);
  assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
  assert.match(r.body, new RegExp(`refused GET 127\\.0\\.0\\.1:${up.port}`));
  assert.match(String(r.headers['x-tongs-egress']), /^tongs egress: refused GET 127\.0\.0\.1:\d+: the host is not on the egress allowlist\.$/);
  assert.ok(r.body.includes(USER_FILE));
  assert.equal(up.seen.length, 0, 'localhost is listed, 127.0.0.1 is another name');
  assert.deepEqual(logs, [`refused GET 127.0.0.1:${up.port}: not on the allowlist`]);
});

test('the Host header cannot bypass the list: the absolute URI decides, and Host is rewritten to it', async (t) => {
  const up = await httpUpstream(t);
  const { port } = await startProxy(t, [`127.0.0.1:${up.port}`]);
  // Listed URI, unlisted Host: goes to the listed host, which sees its own name.
  const listed = await viaProxy(port, `http://127.0.0.1:${up.port}/a`, { headers: { host: 'evil.example' } });
  assert.equal(listed.status, 201);
  assert.equal(up.seen.at(-1)!.headers.host, `127.0.0.1:${up.port}`);
  // Unlisted URI, listed Host: refused.
  const unlisted = await viaProxy(port, `http://127.0.0.2:${up.port}/b`, { headers: { host: `127.0.0.1:${up.port}` } });
  assert.equal(unlisted.status, 403);
  // No absolute URI at all (origin form), listed Host: the proxy is not a reverse proxy.
  const origin = await viaProxy(port, '/c', { headers: { host: `127.0.0.1:${up.port}` } });
  assert.equal(origin.status, 400);
  assert.match(origin.body, /send requests through it/);
  // A userinfo part does not change the host either.
  const userinfo = await viaProxy(port, `http://127.0.0.1:${up.port}@127.0.0.2:${up.port}/d`);
  assert.equal(userinfo.status, 403);
  assert.equal(up.seen.length, 1);
});

test('numeric IPv4 spellings are the address they name, both when listed and when not', async (t) => {
  const up = await httpUpstream(t);
  const { port } = await startProxy(t, [`127.0.0.1:${up.port}`]);
  assert.equal((await viaProxy(port, `http://2130706433:${up.port}/`)).status, 201);
  assert.equal((await viaProxy(port, `http://0x7f.0.0.1:${up.port}/`)).status, 201);
  assert.equal((await viaProxy(port, `http://0x7f.0.0.2:${up.port}/`)).status, 403);
  assert.equal((await viaProxy(port, `http://[::ffff:127.0.0.1]:${up.port}/`)).status, 403, 'an IPv6 spelling is another address');
});

test('other schemes get 400; https goes through CONNECT', async (t) => {
  const { port } = await startProxy(t, ['example.test']);
  const r = await viaProxy(port, 'https://example.test/');
  assert.equal(r.status, 400);
  assert.match(r.body, /CONNECT/);
  assert.equal((await viaProxy(port, 'ftp://example.test/')).status, 400);
});

test('a listed host that does not answer gets 502 naming it', async (t) => {
  const { port, logs } = await startProxy(t, ['127.0.0.1:1']);
  const r = await viaProxy(port, 'http://127.0.0.1:1/');
  assert.equal(r.status, 502);
  assert.match(r.body, /cannot reach 127\.0\.0\.1:1: ECONNREFUSED/);
  assert.deepEqual(logs, ['GET 127.0.0.1:1: upstream failed: ECONNREFUSED']);
});

test('every request on a kept-alive connection is checked on its own', async (t) => {
  const up = await httpUpstream(t);
  const { port } = await startProxy(t, [`127.0.0.1:${up.port}`]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const first = await viaProxy(port, `http://127.0.0.1:${up.port}/1`, { agent });
  const second = await viaProxy(port, `http://127.0.0.2:${up.port}/2`, { agent });
  const third = await viaProxy(port, `http://127.0.0.1:${up.port}/3`, { agent });
  assert.deepEqual([first.status, second.status, third.status], [201, 403, 201]);
  assert.equal(third.reused || second.reused, true, 'the requests shared a connection');
  assert.deepEqual(up.seen.map((s) => s.url), ['/1', '/3']);
});

test('egress open allows every host and port', async (t) => {
  const up = await httpUpstream(t);
  const echo = await echoServer(t);
  const { port, logs } = await startProxy(t, [], { open: true });
  assert.equal((await viaProxy(port, `http://127.0.0.1:${up.port}/`)).status, 201);
  const tunnel = await connect(port, `127.0.0.1:${echo.port}`);
  assert.equal(tunnel.status, 200);
  tunnel.socket.destroy();
  assert.deepEqual(logs, []);
});

test('an empty list refuses everything', async (t) => {
  const { port } = await startProxy(t, []);
  assert.equal((await connect(port, 'registry.npmjs.org:443')).status, 403);
  assert.equal((await viaProxy(port, 'http://registry.npmjs.org/')).status, 403);
});

test('close() ends open tunnels', async (t) => {
  const echo = await echoServer(t);
  const { entries } = parseEgressEntries([`127.0.0.1:${echo.port}`]);
  const proxy = createEgressProxy({ entries, userFile: USER_FILE, log: () => {} });
  const port = await listen(proxy.server);
  const { socket } = await connect(port, `127.0.0.1:${echo.port}`);
  const closed = once(socket, 'close');
  await proxy.close();
  await closed;
});

test('IPv6 literals: a listed [::1]:port answers by GET and CONNECT, with a bracketed Host', async (t) => {
  const seen: string[] = [];
  const up = http.createServer((req, res) => {
    seen.push(String(req.headers.host));
    res.end('v6');
  });
  const echo = net.createServer((s) => s.pipe(s));
  const upPort = await listen(up, '::1');
  const echoPort = await listen(echo, '::1');
  t.after(() => {
    up.closeAllConnections();
    up.close();
    echo.close();
  });
  const { port } = await startProxy(t, [`[::1]:${upPort}`, `[0:0::1]:${echoPort}`]);
  const r = await viaProxy(port, `http://[::1]:${upPort}/`);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body, 'v6');
  assert.deepEqual(seen, [`[::1]:${upPort}`]);
  const tunnel = await connect(port, `[::1]:${echoPort}`);
  assert.equal(tunnel.status, 200);
  assert.equal(await echoThrough(tunnel.socket, 'six'), 'six');
  tunnel.socket.destroy();
  assert.equal((await connect(port, `[::2]:${echoPort}`)).status, 403);
});

test('a WebSocket upgrade in absolute form follows the same rules; other upgrades get 400', async (t) => {
  const up = http.createServer((_req, res) => res.end('no upgrade'));
  const upgrades: string[] = [];
  up.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    upgrades.push(`${req.headers.host} ${req.url}`);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    socket.pipe(socket);
  });
  const upPort = await listen(up);
  t.after(() => {
    up.closeAllConnections();
    up.close();
  });
  const { port } = await startProxy(t, [`127.0.0.1:${upPort}`]);
  const upgrade = (target: string, protocol = 'websocket') =>
    new Promise<{ status: number; socket?: net.Socket }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: target, headers: { connection: 'Upgrade', upgrade: protocol }, agent: false });
      req.on('upgrade', (res, socket) => resolve({ status: res.statusCode ?? 0, socket }));
      req.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0 });
      });
      req.on('error', reject);
      req.end();
    });
  const ok = await upgrade(`http://127.0.0.1:${upPort}/ws`);
  assert.equal(ok.status, 101);
  assert.equal(await echoThrough(ok.socket!, 'frames'), 'frames');
  ok.socket!.destroy();
  assert.deepEqual(upgrades, [`127.0.0.1:${upPort} /ws`]);
  assert.equal((await upgrade(`http://127.0.0.2:${upPort}/ws`)).status, 403);
  assert.equal((await upgrade('/ws')).status, 400);
  assert.equal((await upgrade(`http://127.0.0.1:${upPort}/h2`, 'h2c')).status, 400, 'only WebSocket upgrades are relayed');
  assert.equal(upgrades.length, 1);
});
