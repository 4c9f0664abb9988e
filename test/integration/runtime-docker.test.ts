/**
 * The Docker runtime (launcher/shell/engine/docker-runtime.ts) against the real engine: the contract the
 * session and the secret delivery rely on (issue #3 item 1, issue #6): exec with stdin bytes and exit
 * status, tmpfs mounts, idempotent stop/remove/disconnect, listing by label, network aliases, image
 * inspection (HEALTHCHECK), and builds that follow the progress stream and surface a failed step.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DockerError } from '../../launcher/errors.js';
import type { ContainerRuntime, ContainerSpec } from '../../launcher/shell/engine/runtime.js';
import { BASE_IMAGE, TEST_LABEL, buildTestImages, cleanupByLabel, leftovers, requireDocker, tempDir } from '../support/docker.js';

const RUN_ID = randomBytes(4).toString('hex');
const labels = { [TEST_LABEL]: RUN_ID };
let runtime: ContainerRuntime | null = null;

const spec = (over: Partial<ContainerSpec> = {}): ContainerSpec => ({
  name: null,
  image: BASE_IMAGE,
  labels,
  env: {},
  entrypoint: null,
  command: ['sleep', '300'],
  mounts: [],
  memoryBytes: null,
  network: null,
  ...over,
});

test('exec writes stdin bytes, returns stdout, stderr and the exit status; tmpfs and memory are applied (or the engine says it ignores memory limits)', async (t) => {
  runtime = await requireDocker(t);
  if (!runtime) return;
  const id = await runtime.createContainer(
    spec({ mounts: [{ type: 'tmpfs', target: '/run/secret', sizeBytes: 1024 * 1024, mode: 0o1777 }], memoryBytes: 64 * 1024 * 1024, env: { A: 'plain' } }),
  );
  await runtime.startContainer(id);
  const payload = Buffer.from("line one\nquote ' dollar $HOME\n\u00e9\n", 'utf8');
  const r = await runtime.exec(id, ['sh', '-c', 'cat > /run/secret/x; cat /run/secret/x; echo err >&2; exit 3'], { stdin: payload });
  assert.equal(r.exitCode, 3);
  assert.equal(r.stdout, payload.toString('utf8'));
  assert.equal(r.stderr, 'err\n');
  const mounts = await runtime.exec(id, ['sh', '-c', 'grep " /run/secret " /proc/mounts; echo $A; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max']);
  assert.match(mounts.stdout, /^tmpfs \/run\/secret tmpfs /m);
  assert.match(mounts.stdout, /^plain$/m);
  // Applied where the engine can; where it cannot (rootless without the memory controller) the runtime
  // says so, which is what the launch warns with (apply.ts), and the container really is unlimited.
  const limits = await runtime.memoryLimitsEnforced();
  if (limits.enforced) assert.match(mounts.stdout, /^67108864$/m);
  else {
    assert.match(limits.why, /^rootless /, `only a rootless engine may ignore limits: ${limits.why}`);
    assert.doesNotMatch(mounts.stdout, /^67108864$/m);
  }
  const info = await runtime.inspectContainer(id);
  assert.equal(info?.running, true);
  assert.equal(info?.labels[TEST_LABEL], RUN_ID);
  await runtime.removeContainer(id);
});

test('stop, remove and disconnect are idempotent; a missing container inspects as null', async (t) => {
  runtime = await requireDocker(t);
  if (!runtime) return;
  const net = `tongs-rt-${RUN_ID}`;
  await runtime.createNetwork(net, labels);
  const id = await runtime.createContainer(spec({ network: { name: net, aliases: ['alpha', 'beta'] } }));
  await runtime.startContainer(id);
  await runtime.startContainer(id); // 304: already started
  const info = await runtime.inspectContainer(id);
  assert.deepEqual(
    info!.networks[net]!.aliases.filter((a) => a === 'alpha' || a === 'beta'),
    ['alpha', 'beta'],
  );
  await runtime.connectNetwork(net, id, ['alpha']); // already attached
  await runtime.disconnectNetwork(net, id);
  await runtime.disconnectNetwork(net, id); // not attached any more
  await runtime.stopContainer(id, 0);
  await runtime.stopContainer(id, 0); // 304
  await runtime.removeContainer(id);
  await runtime.removeContainer(id); // 404
  await runtime.stopContainer(id, 0); // 404
  assert.equal(await runtime.inspectContainer(id), null);
  await runtime.removeNetwork(net);
  await runtime.removeNetwork(net); // 404
  await assert.rejects(runtime.startContainer(id), DockerError);
});

test('a second network with the same name is refused', async (t) => {
  runtime = await requireDocker(t);
  if (!runtime) return;
  const net = `tongs-rt-dup-${RUN_ID}`;
  await runtime.createNetwork(net, labels);
  const rt = runtime;
  t.after(() => rt.removeNetwork(net));
  await assert.rejects(runtime.createNetwork(net, labels), /cannot create network tongs-rt-dup-\w+: .*already exists/);
});

test('failures carry their kind: a name taken is `conflict`, a command missing from the image `no-executable`', async (t) => {
  runtime = await requireDocker(t);
  if (!runtime) return;
  const rt = runtime;
  const name = `tongs-rt-kind-${RUN_ID}`;
  const first = await rt.createContainer(spec({ name }));
  t.after(() => rt.removeContainer(first));
  await assert.rejects(rt.createContainer(spec({ name })), (e: unknown) => e instanceof DockerError && e.kind === 'conflict');
  const missing = await rt.createContainer(spec({ entrypoint: ['/no/such/program'], command: [] }));
  t.after(() => rt.removeContainer(missing));
  await assert.rejects(rt.startContainer(missing), (e: unknown) => e instanceof DockerError && e.kind === 'no-executable');
});

test('listContainers and listNetworks filter by label key and value', async (t) => {
  runtime = await requireDocker(t);
  if (!runtime) return;
  const mark = `${RUN_ID}-list`;
  const a = await runtime.createContainer(spec({ labels: { ...labels, 'dev.tongs.test.k': mark } }));
  const b = await runtime.createContainer(spec({ labels: { ...labels, 'dev.tongs.test.k': 'other' } }));
  const rt = runtime;
  t.after(() => Promise.all([rt.removeContainer(a), rt.removeContainer(b)]));
  const byValue = await runtime.listContainers({ 'dev.tongs.test.k': mark });
  assert.deepEqual(byValue.map((c) => c.id), [a]);
  assert.equal(byValue[0]!.state, 'created');
  const byKey = await runtime.listContainers({ [TEST_LABEL]: RUN_ID, 'dev.tongs.test.k': true });
  assert.deepEqual(byKey.map((c) => c.id).sort(), [a, b].sort());
});

test('inspectImage: absent is null (never pulled); HEALTHCHECK is reported', async (t) => {
  runtime = await requireDocker(t);
  if (!runtime) return;
  await buildTestImages('tongs-test-health:local', 'tongs-test-port:local');
  assert.equal(await runtime.inspectImage(`tongs-no-such-image-${RUN_ID}:local`), null);
  assert.equal((await runtime.inspectImage('tongs-test-health:local'))?.hasHealthcheck, true);
  const port = await runtime.inspectImage('tongs-test-port:local');
  assert.equal(port?.hasHealthcheck, false);
  assert.deepEqual(port?.entrypoint, ['node', '/srv/port.mjs']);
});

test('buildImage follows the progress stream and surfaces a failed step as a DockerError', async (t) => {
  runtime = await requireDocker(t);
  if (!runtime) return;
  const dir = await tempDir(t);
  const good = join(dir, 'good');
  const bad = join(dir, 'bad');
  await mkdir(good);
  await mkdir(bad);
  await writeFile(join(good, 'Dockerfile'), 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo built-step\n');
  await writeFile(join(bad, 'Dockerfile'), `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nRUN echo about to fail; exit 7\n`);
  const tag = `tongs-rt-build-${RUN_ID}:local`;
  const rt = runtime;
  t.after(() => rt.removeImage(tag));
  const lines: string[] = [];
  await runtime.buildImage(good, tag, { buildArgs: { BASE_IMAGE }, labels, onProgress: (e) => lines.push(e.line) });
  assert.ok(lines.some((l) => /^Step \d+\/\d+ : RUN echo built-step/.test(l)), lines.join('\n'));
  assert.ok(lines.includes('built-step'));
  assert.ok(await runtime.inspectImage(tag));
  await assert.rejects(
    runtime.buildImage(bad, `tongs-rt-bad-${RUN_ID}:local`, { buildArgs: { BASE_IMAGE } }),
    (err: Error) => {
      assert.ok(err instanceof DockerError);
      // The engine's own words: Docker's classic builder, or Podman's (buildah).
      assert.match(
        err.message,
        /cannot build image tongs-rt-bad-\w+:local from .*: (The command '.*' returned a non-zero code: 7|building at STEP "RUN echo about to fail; exit 7": while running runtime: exit status 7)$/,
      );
      return true;
    },
  );
});

test('attach streams a container’s output and feeds its stdin; waitContainer returns the exit status', async (t) => {
  runtime = await requireDocker(t);
  if (!runtime) return;
  const id = await runtime.createContainer(
    spec({ entrypoint: ['sh', '-c'], command: ['read line; echo "got $line"; echo oops >&2; exit 5'], openStdin: true }),
  );
  const rt = runtime;
  t.after(() => rt.removeContainer(id));
  const streams = await runtime.attach(id, { stdin: true });
  let out = '';
  let err = '';
  streams.stdout.on('data', (c: Buffer) => (out += c.toString()));
  streams.stderr.on('data', (c: Buffer) => (err += c.toString()));
  await runtime.startContainer(id);
  streams.stdin!.end('hello\n');
  assert.equal(await runtime.waitContainer(id), 5);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(out, 'got hello\n');
  assert.equal(err, 'oops\n');
  assert.match(await runtime.logs(id, 5), /got hello\noops\n|oops\ngot hello\n/);
});

test('the runtime suite leaves nothing behind', async (t) => {
  const rt = runtime ?? (await requireDocker(t));
  if (!rt) return;
  assert.deepEqual(await leftovers(rt, TEST_LABEL, RUN_ID), []);
});

after(async () => {
  if (runtime) await cleanupByLabel(runtime, TEST_LABEL, RUN_ID);
});
