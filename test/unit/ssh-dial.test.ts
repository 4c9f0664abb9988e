/**
 * launcher/shell/engine/ssh-dial.ts without a server: the ssh argv (ssh's own defaults kept when the
 * URL names no user or port), and an ssh that fails before the engine answers, surfacing as one
 * `ESSHDIAL` error with ssh's last stderr line, through a real http request. The real ssh:// engine is
 * test/integration/engine-ssh.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sshDialAgent, sshDialArgs } from '../../launcher/shell/engine/ssh-dial.js';

test('sshDialArgs: batch mode, user and port only when the URL names them, dial-stdio after --', () => {
  assert.deepEqual(sshDialArgs({ host: 'box', port: null, username: null }), ['-o', 'BatchMode=yes', '--', 'box', 'docker', 'system', 'dial-stdio']);
  assert.deepEqual(sshDialArgs({ host: 'box', port: 2222, username: 'me' }), [
    '-o', 'BatchMode=yes', '-l', 'me', '-p', '2222', '--', 'box', 'docker', 'system', 'dial-stdio',
  ]);
});

test('an ssh that fails before the engine answers: the request fails with ESSHDIAL and ssh\'s own words', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tongs-ssh-dial-'));
  t.after(() => rm(dir, { recursive: true }));
  const fake = join(dir, 'ssh');
  await writeFile(fake, '#!/bin/sh\necho "debug noise" >&2\necho "Host key verification failed." >&2\nexit 255\n');
  await chmod(fake, 0o755);
  const agent = sshDialAgent({ host: 'box', port: null, username: null }, { ssh: fake });
  const err = await new Promise<NodeJS.ErrnoException & { detail?: string; status?: number }>((resolve) => {
    const req = request({ host: 'docker', path: '/_ping', agent }, () => resolve(Object.assign(new Error('answered'), { code: 'none' })));
    req.on('error', resolve);
    req.end();
  });
  assert.equal(err.code, 'ESSHDIAL');
  assert.equal(err.detail, 'Host key verification failed.');
  assert.equal(err.status, 255);
});

test('an engine answering over the ssh process\'s stdio: the response comes back, and the connection is reused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tongs-ssh-dial-'));
  t.after(() => rm(dir, { recursive: true }));
  // A stand-in for `ssh HOST docker system dial-stdio`: answers every HTTP request on its stdin.
  const fake = join(dir, 'ssh');
  await writeFile(
    fake,
    `#!/usr/bin/env node
let buf = '';
process.stdin.on('data', (c) => {
  buf += c;
  while (buf.includes('\\r\\n\\r\\n')) {
    buf = buf.slice(buf.indexOf('\\r\\n\\r\\n') + 4);
    process.stdout.write('HTTP/1.1 200 OK\\r\\nContent-Length: 6\\r\\nConnection: keep-alive\\r\\n\\r\\npid' + String(process.pid % 1000).padStart(3, '0'));
  }
});
`,
  );
  await chmod(fake, 0o755);
  const agent = sshDialAgent({ host: 'box', port: null, username: null }, { ssh: fake, maxSockets: 1 });
  t.after(() => agent.destroy());
  const get = () =>
    new Promise<string>((resolve, reject) => {
      const req = request({ host: 'docker', path: '/_ping', agent }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
  const first = await get();
  const second = await get();
  assert.match(first, /^pid\d{3}$/);
  assert.equal(second, first, 'the same ssh process answered both: the connection was kept alive');
});
