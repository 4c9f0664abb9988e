/**
 * First-run approval of a workspace tong through the CLI on the real engine (issue #6 "First-run
 * approval"): the project's own `.tongs/tongs` definition runs only after `y` at the prompt; the
 * approval is remembered, so the next launch runs under `--no-prompt`; a changed definition is asked
 * about again, and refused under `--no-prompt` before any network or container exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  TEST_LABEL,
  TEST_PORT_IMAGE,
  buildTestImages,
  cleanupByLabel,
  dockerCli,
  nodeAnvil,
  requireDocker,
  tempDir,
} from '../support/docker.js';
import { runCli } from '../support/process.js';

const RUN_ID = randomBytes(4).toString('hex');

/** The anvil: GET the workspace tong through the variables the launcher passes, print what it says. */
const ANVIL = `
fetch('http://' + process.env.TONGS_HELPER_HOST + ':' + process.env.TONGS_HELPER_PORT + '/')
  .then((r) => r.json())
  .then((body) => console.log('HELPER SAYS ' + body.mark))
  .catch((e) => { console.log('FAILED ' + e.message + (e.cause ? ' (' + (e.cause.code || e.cause.message) + ')' : '')); process.exit(99); });
`;

test('a workspace tong runs once approved, is remembered, and is asked about again when it changes', { timeout: 240_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  await buildTestImages(TEST_PORT_IMAGE);
  // The tong's image under a tag of its own, so the engine's events show whether it was ever created.
  const image = `tongs-it-approve-${RUN_ID}:local`;
  assert.equal((await dockerCli(['tag', TEST_PORT_IMAGE, image])).status, 0);
  t.after(async () => {
    await cleanupByLabel(runtime, TEST_LABEL, RUN_ID);
    await dockerCli(['rmi', image]);
  });

  const dir = await tempDir(t, 'tongs-approve-');
  const ws = join(dir, 'project');
  const tongFile = join(ws, '.tongs', 'tongs', 'helper.yaml');
  await mkdir(join(ws, '.tongs', 'tongs'), { recursive: true });
  const definition = `image: ${image}
env:
  TONG_MARK: "mark-${RUN_ID}"
  UPSTREAM_TOKEN: \${secret:env:TONGS_IT_APPROVE_TOKEN?}
resources: { memory: 64m }
interface:
  kind: port
  port: 8080
`;
  await writeFile(tongFile, definition);
  const approvals = join(dir, 'approvals.json');
  const env = { ...process.env, TONGS_HOME: join(dir, 'home') };
  const run = (extra: string[], input?: string) =>
    runCli(['run', '--workspace', ws, '--approvals', approvals, ...extra, '--', ...nodeAnvil(RUN_ID, ANVIL)], {
      env,
      ...(input !== undefined ? { input } : {}),
    });

  // First launch: the summary and the question on stderr; `y` approves and the tong runs.
  const first = await run([], 'y\n');
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, new RegExp(`workspace tong 'helper'[\\s\\S]*${image.replace(/[.:]/g, '\\$&')}`));
  assert.match(first.stderr, /env:TONGS_IT_APPROVE_TOKEN/, 'the summary names the secret reference');
  assert.match(first.stderr, /memory: +64 MiB/, 'and the memory limit');
  assert.match(first.stderr, /Approve workspace tong 'helper'\? \[y\/N\]/);
  assert.match(first.stdout, new RegExp(`HELPER SAYS mark-${RUN_ID}`));
  const stored = JSON.parse(await readFile(approvals, 'utf8')) as { tongs: Array<{ workspace: string; name: string }> };
  assert.deepEqual(stored.tongs.map((a) => [a.workspace, a.name]), [[ws, 'helper']]);

  // Second launch: remembered, so even --no-prompt runs it without asking.
  const second = await run(['--no-prompt']);
  assert.equal(second.status, 0, second.stderr);
  assert.doesNotMatch(second.stderr, /\[y\/N\]/);
  assert.match(second.stdout, new RegExp(`HELPER SAYS mark-${RUN_ID}`));

  // A changed definition asks again: under --no-prompt it is refused before anything is created.
  await writeFile(tongFile, definition.replace(`mark-${RUN_ID}`, `changed-${RUN_ID}`));
  const since = (Date.now() / 1000).toFixed(3);
  const third = await run(['--no-prompt']);
  assert.equal(third.status, 1, third.stderr);
  assert.match(third.stderr, /workspace tong 'helper'/);
  assert.match(third.stderr, /--no-prompt/);
  assert.doesNotMatch(third.stdout, /HELPER SAYS/);
  const events = await dockerCli(['events', '--since', since, '--until', (Date.now() / 1000 + 1).toFixed(3),
    '--filter', 'event=create', '--format', '{{.Type}} {{.Actor.Attributes.image}}']);
  assert.equal(events.status, 0, events.stderr);
  assert.ok(!events.stdout.includes(image), `no tong container was created: ${events.stdout}`);

  // Declining at the prompt refuses too, and keeps the old approval as it was.
  const fourth = await run([], 'n\n');
  assert.equal(fourth.status, 1, fourth.stderr);
  assert.doesNotMatch(fourth.stdout, /HELPER SAYS/);
  assert.deepEqual(JSON.parse(await readFile(approvals, 'utf8')), stored);
});
