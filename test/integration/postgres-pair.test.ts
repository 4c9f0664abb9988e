/**
 * The Postgres pair on the real engine (issue #13 item 2 "The database pair"): sidecars/postgres.yaml
 * (a real PostgreSQL from this host's Debian package files, a `port` tong) and
 * sidecars/postgres-mcp.yaml (the npm server mcp-postgres-server as a stdio tong), as shipped but for
 * test image tags and a test volume. The anvil queries the database through MCP and gets rows; the
 * password appears in no `docker inspect`, host argv, anvil file or environment, MCP result, tong log
 * or launcher output. (A full turn of the real harness is not part of this test.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { LABEL_LAUNCHER_PID, LABEL_SESSION } from '../../launcher/core/labels.js';
import { BASE_IMAGE, REPO_ROOT, TEST_LABEL, cleanupByLabel, dockerCli, launchTongs, leftovers, requireDocker, sessionOfLauncher, tongLayer } from '../support/docker.js';

const run = promisify(execFile);
const RUN_ID = `pgpair-${randomBytes(3).toString('hex')}`;
const PASSWORD = `pw${randomBytes(12).toString('hex')}`;
const VOLUME = `tongs-test-pg-${RUN_ID}`;
const PG_IMAGE = 'tongs-test-postgres:local';
const MCP_IMAGE = 'tongs-test-postgres-mcp:local';

async function shipped(name: string): Promise<string> {
  return (await readFile(path.join(REPO_ROOT, 'sidecars', `${name}.yaml`), 'utf8'))
    .replace('image: tongs-postgres:local', `image: ${PG_IMAGE}`)
    .replace('image: tongs-postgres-mcp:local', `image: ${MCP_IMAGE}`)
    .replace(/^build: .*$/m, '')
    .replace('volume:tongs-postgres-data:', `volume:${VOLUME}:`);
}

test('the agent queries PostgreSQL through the postgres-mcp stdio tong and never sees the password', { timeout: 300_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await Promise.all([
    run('bash', [path.join(REPO_ROOT, 'sidecars/postgres/build-image.sh'), PG_IMAGE], { cwd: REPO_ROOT }),
    run('bash', [path.join(REPO_ROOT, 'sidecars/postgres-mcp/build-image.sh'), MCP_IMAGE], { cwd: REPO_ROOT }),
    run('bash', [path.join(REPO_ROOT, 'test/fixtures/stdio/build-images.sh')], { cwd: REPO_ROOT }),
  ]);
  t.after(async () => {
    await cleanupByLabel(runtime, TEST_LABEL, RUN_ID);
    await dockerCli(['volume', 'rm', '-f', VOLUME]);
  });
  const layer = await tongLayer(t, { postgres: await shipped('postgres'), 'postgres-mcp': await shipped('postgres-mcp') });
  const anvilName = `tongs-it-pg-${RUN_ID}`;
  const calls = [
    { server: 'postgres-mcp', tool: 'query', arguments: { sql: 'SELECT name, weight FROM tools ORDER BY weight' } },
    { server: 'postgres-mcp', tool: 'query', arguments: { sql: "SELECT current_setting('data_directory') IS NOT NULL AS ok" } },
  ];
  const p = launchTongs(t, runtime, [
    'run', '--harness', 'claude', '--user-tongs', layer, '--',
    'docker', 'run', '--rm', '--name', anvilName, '--label', `${TEST_LABEL}=${RUN_ID}`,
    '-v', `${path.join(REPO_ROOT, '.build/stdio/anvil')}:/t:ro`, '-e', `CALL=${JSON.stringify(calls)}`, '-e', 'HOLD=1',
    BASE_IMAGE, 'node', '/t/anvil-client.mjs', '--',
  ], {
    env: {
      TONGS_POSTGRES_PASSWORD: PASSWORD,
      TONGS_POSTGRES_INIT_SQL: "CREATE TABLE tools (name text, weight int); INSERT INTO tools VALUES ('tongs', 3), ('anvil', 120);",
    },
  });
  await p.waitFor(/CHECK-NOW|FAILED/, 240_000);
  const { stdout } = p.output();
  assert.doesNotMatch(stdout, /FAILED/, stdout + p.output().stderr);
  const results = [...stdout.matchAll(/^RESULT (.*)$/gm)].map((m) => JSON.parse(m[1]!) as { tools: string[]; result: { content: { text: string }[]; isError?: boolean } });
  assert.ok(results[0]?.tools.includes('query') && results[0].tools.includes('list_tables'), stdout);
  const rows = JSON.parse(results[0]!.result.content[0]!.text) as { rows: { name: string; weight: number }[] };
  assert.deepEqual(rows.rows, [{ name: 'tongs', weight: 3 }, { name: 'anvil', weight: 120 }], 'the agent gets the rows');

  // Where the password must not be: docker inspect of every container of the session and the anvil,
  // the tongs' logs, host argv, the anvil's environment and files, the MCP results.
  const session = await sessionOfLauncher(runtime, p.child.pid!);
  const ids = (await dockerCli(['ps', '-aq', '--filter', `label=${LABEL_SESSION}=${session}`])).stdout.split('\n').filter(Boolean);
  assert.ok(ids.length >= 2, `the session's tongs exist: ${ids.join(' ')}`);
  for (const id of [...ids, anvilName]) {
    const inspected = await dockerCli(['inspect', id]);
    assert.equal(inspected.status, 0);
    assert.ok(!inspected.stdout.includes(PASSWORD), `docker inspect ${id} holds no password`);
    const logs = await dockerCli(['logs', id]);
    assert.ok(!(logs.stdout + logs.stderr).includes(PASSWORD), `the log of ${id} holds no password`);
  }
  const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  assert.ok(!ps.stdout.includes(PASSWORD), 'no host argv (the containers\' processes included) holds the password');
  const env = await dockerCli(['exec', anvilName, '/bin/sh', '-c', "tr '\\0' '\\n' < /proc/1/environ"]);
  assert.match(env.stdout, /TONGS_POSTGRES_HOST=postgres/, 'this is the anvil environment, with the port tong wired');
  assert.ok(!env.stdout.includes(PASSWORD), 'the anvil environment holds no password');
  const scan = await dockerCli(
    ['exec', '-i', anvilName, '/bin/sh', '-c', 'IFS= read -r n; cd /; for d in *; do case $d in proc|sys|dev) ;; *) set -- "$@" "/$d" ;; esac; done; grep -rlF -e "$n" "$@" 2>/dev/null; echo "rc=$?"'],
    `${PASSWORD}\n`,
  );
  assert.match(scan.stdout, /^rc=1$/m, `no file in the anvil holds the password: ${scan.stdout}`);
  assert.ok(!stdout.includes(PASSWORD), 'no MCP result holds the password');

  await dockerCli(['exec', anvilName, 'touch', '/tmp/checks-done']);
  const done = await p.done;
  assert.equal(done.status, 0, done.stderr);
  assert.ok(!(done.stdout + done.stderr).includes(PASSWORD), 'the launcher prints no password');
  assert.deepEqual(await leftovers(runtime, LABEL_LAUNCHER_PID, String(p.child.pid)), [], 'the session left nothing behind');
});
