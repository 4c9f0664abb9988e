/**
 * The egress tong wired into a sealed session (DESIGN.md "The seal" rule 5, issue #11 "Egress"): the
 * anvil (no network of its own, behind the relay) gets HTTP(S)_PROXY naming the egress tong, which
 * lets through only the hosts of `$TONGS_HOME/egress.yaml`; an unlisted host gets 403 naming the file;
 * `TONGS_EGRESS=open` lets everything through, with a warning; a workspace `.tongs/egress.yaml` needs
 * approval (refused under `--no-prompt`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { REPO_ROOT, TEST_LABEL, cleanupByLabel, managedLeftovers, requireDocker, runTongs, tempDir } from '../support/docker.js';

const ANVIL = 'tongs-anvil:local';
const RUN_ID = `seal-egress-${randomBytes(3).toString('hex')}`;

function docker0(): string {
  const ip = /inet (\d+\.\d+\.\d+\.\d+)/.exec(execFileSync('ip', ['-4', '-o', 'addr', 'show', 'docker0'], { encoding: 'utf8' }))?.[1];
  assert.ok(ip);
  return ip;
}

/** GETs each URL of URLS through HTTP_PROXY (absolute-form, as curl does for http://) and prints status and body. */
const PROBE = `
const http = require('node:http');
const proxy = new URL(process.env.HTTP_PROXY);
(async () => {
  const out = {};
  for (const url of process.env.URLS.split(' ')) {
    out[url] = await new Promise((r) => {
      const req = http.request({ host: proxy.hostname, port: proxy.port, path: url, headers: { host: new URL(url).host } }, (res) => {
        let body = ''; res.on('data', (d) => (body += d)); res.on('end', () => r(res.statusCode + ' ' + body.split('\\n')[0]));
      });
      req.on('error', (e) => r('error ' + e.code)); req.end();
    });
  }
  console.log('RESULT ' + JSON.stringify({ out, noProxy: process.env.NO_PROXY }));
})();`;

test('the sealed anvil reaches listed hosts through the egress tong and gets 403 for the rest; open lets all through', { timeout: 240_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  t.after(() => cleanupByLabel(runtime, TEST_LABEL, RUN_ID));
  const ip = docker0();
  const upstreams = await Promise.all(
    ['listed', 'unlisted'].map(async (name) => {
      const server = http.createServer((_, res) => res.end(`hello from ${name}\n`));
      await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
      t.after(() => new Promise<void>((r) => server.close(() => r())));
      return `http://${ip}:${(server.address() as AddressInfo).port}/`;
    }),
  );
  const [listed, unlisted] = upstreams as [string, string];
  const dir = await tempDir(t, 'tongs-egress-session-');
  const home = path.join(dir, 'tongs-home');
  const repo = path.join(dir, 'repo');
  const workspace = path.join(dir, 'ws');
  for (const d of [home, repo, workspace]) mkdirSync(d, { recursive: true });
  writeFileSync(path.join(repo, 'egress.yaml'), readFileSync(path.join(REPO_ROOT, 'sidecars/egress.yaml'), 'utf8').replace(/^build: .*$/m, ''));
  writeFileSync(path.join(home, 'egress.yaml'), `allow:\n  - "${new URL(listed).host}"\n`);
  const args = [
    'run', '--quiet', '--no-prompt', '--user-tongs', path.join(dir, 'none'), '--repo-tongs', repo, '--workspace', workspace, '--anvil-relay', '--',
    'docker', 'run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, '-e', `URLS=${listed} ${unlisted}`, ANVIL, 'node', '-e', PROBE, '--',
  ];
  const env = { TONGS_HOME: home, TONGS_EGRESS: '' };
  const result = (stdout: string) => JSON.parse(/^RESULT (.*)$/m.exec(stdout)?.[1] ?? 'null') as { out: Record<string, string>; noProxy: string } | null;

  const sealed = await runTongs(args, { env });
  assert.equal(sealed.status, 0, sealed.stderr);
  const r = result(sealed.stdout);
  assert.ok(r, sealed.stdout + sealed.stderr);
  assert.equal(r.out[listed], '200 hello from listed');
  assert.match(r.out[unlisted]!, /^403 /);
  assert.ok(r.out[unlisted]!.includes(new URL(unlisted).host), r.out[unlisted]);
  assert.match(r.noProxy, /(^|,)egress(,|$)/, 'the tongs themselves are reached directly');

  const open = await runTongs(args, { env: { ...env, TONGS_EGRESS: 'open' } });
  assert.equal(open.status, 0, open.stderr);
  assert.equal(result(open.stdout)?.out[unlisted], '200 hello from unlisted');
  assert.match(open.stderr, /tongs: warning: egress is open: the anvil may reach every host \(TONGS_EGRESS=open\)/);

  // A workspace allowlist needs approval: under --no-prompt the launch is refused before anything starts.
  mkdirSync(path.join(workspace, '.tongs'));
  writeFileSync(path.join(workspace, '.tongs/egress.yaml'), `allow:\n  - "${new URL(unlisted).host}"\n`);
  const ws = await runTongs(args, { env });
  assert.equal(ws.status, 1, ws.stderr);
  assert.match(ws.stderr, /lets the anvil reach:\ntongs:   .*\n/);
  assert.match(ws.stderr, /needs approval for '\.tongs\/egress\.yaml' and --no-prompt was given/);
  assert.deepEqual(await managedLeftovers(runtime), []);
});
