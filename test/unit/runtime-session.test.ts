/**
 * The session's apply logic against the hand-written fake engine (issue #3 items 2, 3, 6; issue #6
 * delivery hook): what gets created, with which spec, in parallel; images built or refused; shared tongs
 * reused or recreated; secrets never in Env; readiness strategies; teardown by label.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerError, ReadinessError, SecretError } from '../../launcher/errors.js';
import { LABEL_CONFIG_HASH, LABEL_ROLE, LABEL_SESSION } from '../../launcher/core/labels.js';
import type { PlannedTong } from '../../launcher/core/plan-types.js';
import { applyPlan, tongSpec } from '../../launcher/shell/apply/apply.js';
import { createProgress } from '../../launcher/shell/progress.js';
import { removeSessionResources } from '../../launcher/shell/teardown/teardown.js';
import { DELIVERY_EXEC_ARGV, SECRET_DIR, WRAPPER_NAME } from '../../launcher/shell/apply/secret-delivery.js';
import { READINESS_STRATEGIES, waitForReadiness } from '../../launcher/shell/apply/readiness.js';
import { FakeRuntime } from '../fakes/fake-runtime.js';
import { buildPlan } from '../support/plan-builder.js';

function sink() {
  const lines: string[] = [];
  const progress = createProgress({ quiet: false, stream: { write: (s: string) => lines.push(s), isTTY: false } });
  return { progress, text: () => lines.join('') };
}

/** How many tong containers were asked for (the probe container is not a tong). */
const tongCreates = (rt: FakeRuntime) =>
  rt.calls.filter((c) => c.op === 'createContainer' && (c.args[0] as { labels: Record<string, string> }).labels[LABEL_ROLE] === 'tong').length;

const mcp = (name: string, extra: object = {}) => ({
  image: 'tongs-test-mcp:local',
  interface: { kind: 'mcp' as const, port: 8080, name },
  ...extra,
});

test('applyPlan creates the session network and starts every tong in parallel under its aliases, labelled', async () => {
  const rt = new FakeRuntime(['tongs-test-mcp:local', 'tongs-test-port:local', 'anvil:local']);
  rt.delayMs = 30;
  const plan = buildPlan({
    github: {
      image: 'tongs-test-mcp:local',
      env: { LOG_LEVEL: 'info' },
      interface: { kind: 'mcp', port: 8080, name: 'github', aliases: ['gh'] },
      mounts: ['volume:cache:/cache:ro'],
      resources: { memory: '256m' },
      entrypoint: ['node'],
      command: ['/srv/server.mjs'],
    },
    db: { image: 'tongs-test-port:local', interface: { kind: 'port', port: 5432 } },
    quiet: { image: 'tongs-test-port:local', interface: { kind: 'none' } },
  }, { sharedNetns: false }); // each tong on its own endpoint (the shared namespace has its own test below)
  const { progress } = sink();
  const applied = await applyPlan(plan, rt, { progress });

  assert.equal(rt.networks.size, 1);
  const net = [...rt.networks.values()][0]!;
  assert.equal(net.name, plan.network!.name);
  assert.equal(net.labels[LABEL_SESSION], plan.sessionId);
  assert.equal(rt.maxConcurrentCreates, 4, 'the three tongs and the probe are created at the same time');

  const gh = rt.byName(plan.tongs.find((t) => t.name === 'github')!.containerName)!;
  assert.equal(gh.state, 'running');
  assert.deepEqual(gh.spec.network, { name: plan.network!.name, aliases: ['github', 'gh'] });
  assert.equal(gh.spec.env.LOG_LEVEL, 'info');
  assert.deepEqual(gh.spec.mounts, [{ type: 'volume', source: 'cache', target: '/cache', readOnly: true }]);
  assert.equal(gh.spec.memoryBytes, 256 * 1024 * 1024);
  assert.deepEqual(gh.spec.entrypoint, ['node']);
  assert.deepEqual(gh.spec.command, ['/srv/server.mjs']);
  assert.equal(gh.spec.labels[LABEL_ROLE], 'tong');
  assert.equal(gh.spec.labels[LABEL_CONFIG_HASH], plan.tongs.find((t) => t.name === 'github')!.configHash);
  assert.deepEqual([...applied.containers.keys()].sort(), ['db', 'github', 'quiet']);

  // The probe ran from the anvil's image on the session network, with tcp targets for github and db.
  const probe = [...rt.calls].find((c) => c.op === 'createContainer' && (c.args[0] as { image: string }).image === 'anvil:local');
  assert.ok(probe, 'a probe container was created from the anvil image');
  const probeSpec = probe.args[0] as { network: { name: string }; labels: Record<string, string>; env: object; autoRemove: boolean };
  assert.equal(probeSpec.network.name, plan.network!.name);
  assert.equal(probeSpec.labels[LABEL_ROLE], 'probe');
  assert.equal(probeSpec.autoRemove, true);
  const stdin = JSON.parse([...rt.attachedStdin.values()][0]!) as { targets: Array<{ tong: string; mode: string; host: string; port: number }> };
  assert.deepEqual(
    stdin.targets.map((t) => [t.tong, t.mode, t.host, t.port]).sort(),
    [
      ['db', 'tcp', 'db', 5432],
      ['github', 'tcp', 'github', 8080],
    ],
  );
});

test('secrets never become Env: the tong gets a tmpfs and the wrapper, and receives them over exec stdin', async () => {
  const rt = new FakeRuntime(['tongs-test-mcp:local', 'anvil:local']);
  rt.addImage('tongs-test-mcp:local', { entrypoint: ['node'], command: ['/srv/server.mjs'] });
  const plan = buildPlan(
    { github: mcp('github', { env: { GITHUB_TOKEN: '${secret:env:GH}', PLAIN: 'x' }, readiness: { mode: 'mcp' } }) },
    { mcpTokens: { github: 'bearer-123' } },
  );
  const seen: string[][] = [];
  const resolveSecrets = async (tongs: PlannedTong[]) => {
    seen.push(tongs.map((t) => t.name));
    return new Map([['github', { GITHUB_TOKEN: 's3cr3t-value', TONGS_MCP_TOKEN: 'bearer-123' }]]);
  };
  let delivered = '';
  rt.execHandler = (_c, argv, options) => {
    assert.deepEqual(argv, [...DELIVERY_EXEC_ARGV]);
    delivered = String(options.stdin);
    return { exitCode: 0, stdout: '', stderr: '' };
  };
  let probedToken: string | undefined;
  rt.probeOutcome = (t) => {
    probedToken = t.token;
    return { tong: t.tong, ready: true, ms: 1 };
  };
  await applyPlan(plan, rt, { progress: sink().progress, resolveSecrets });

  assert.deepEqual(seen, [['github']]);
  const c = rt.byName(plan.tongs[0]!.containerName)!;
  const specText = JSON.stringify(c.spec);
  assert.doesNotMatch(specText, /s3cr3t-value/);
  assert.doesNotMatch(specText, /bearer-123/);
  assert.equal(c.spec.env.PLAIN, 'x');
  assert.equal(c.spec.env.GITHUB_TOKEN, undefined);
  assert.ok(c.spec.mounts.some((m) => m.type === 'tmpfs' && m.target === SECRET_DIR));
  assert.equal(c.spec.entrypoint?.[0], '/bin/sh');
  assert.equal(c.spec.entrypoint?.[3], WRAPPER_NAME);
  assert.deepEqual(c.spec.command, ['node', '/srv/server.mjs'], 'the original argv runs after delivery');
  assert.match(delivered, /export GITHUB_TOKEN='s3cr3t-value'/);
  assert.equal(probedToken, 'bearer-123', 'the mcp probe sends the bearer (over stdin only)');
  const probe = [...rt.calls].find((x) => x.op === 'createContainer' && (x.args[0] as { image: string }).image === 'anvil:local')!;
  assert.doesNotMatch(JSON.stringify(probe.args), /bearer-123/);
});

test('a secret that cannot be resolved fails the launch before any network or container exists', async () => {
  const rt = new FakeRuntime(['tongs-test-mcp:local', 'anvil:local']);
  const plan = buildPlan({ github: mcp('github', { env: { T: '${secret:env:T}' }, readiness: { mode: 'mcp' } }) });
  await assert.rejects(
    applyPlan(plan, rt, {
      progress: sink().progress,
      resolveSecrets: async () => {
        throw new SecretError("tong 'github': secret provider 'env', reference 'T': environment variable T is not set");
      },
    }),
    (e: Error) => e instanceof SecretError && /reference 'T'/.test(e.message),
  );
  const created = rt.calls.filter((c) => c.op === 'createNetwork' || c.op === 'createContainer' || c.op === 'buildImage');
  assert.deepEqual(created, [], 'nothing was created, so nothing is left for teardown');
});

test('failed secret delivery removes the container and fails the launch', async () => {
  const rt = new FakeRuntime(['tongs-test-mcp:local', 'anvil:local']);
  const plan = buildPlan({ github: mcp('github', { env: { T: '${secret:env:T}' } }) });
  rt.execHandler = () => ({ exitCode: 3, stdout: '', stderr: 'tongs: /run/tongs-secrets is missing or not writable' });
  await assert.rejects(
    applyPlan(plan, rt, {
      progress: sink().progress,
      resolveSecrets: async () => new Map([['github', { T: 'v' }]]),
    }),
    /delivering secrets to tong 'github' failed \(exit status 3\): tongs: \/run\/tongs-secrets is missing/,
  );
  assert.equal(rt.byName(plan.tongs[0]!.containerName), undefined);
});

test('an absent image is built from its build context (with TONGS_BASE_IMAGE); absent with no build is refused before any container', async () => {
  const rt = new FakeRuntime(['anvil:local']);
  const plan = buildPlan({ built: { image: 'built:local', build: './ctx', interface: { kind: 'port', port: 80 } } });
  const out = sink();
  process.env.TONGS_BASE_IMAGE = 'tongs-base:local';
  try {
    await applyPlan(plan, rt, { progress: out.progress });
  } finally {
    delete process.env.TONGS_BASE_IMAGE;
  }
  assert.deepEqual(rt.builds, [{ context: '/defs/ctx', tag: 'built:local', buildArgs: { BASE_IMAGE: 'tongs-base:local' } }]);
  assert.match(out.text(), /tongs: building image built:local for tong 'built' from \/defs\/ctx\n/);
  assert.match(out.text(), /tongs:   Step 2\/2 : COPY \. \/srv\n/);
  assert.match(out.text(), /tongs: built image built:local in \d+\.\d\d s\n/);

  const rt2 = new FakeRuntime(['anvil:local']);
  const plan2 = buildPlan({ gone: { image: 'gone:local', interface: { kind: 'port', port: 80 } } });
  await assert.rejects(applyPlan(plan2, rt2, { progress: sink().progress }), (err: Error) => {
    assert.ok(err instanceof DockerError);
    assert.match(err.message, /image gone:local \(tong 'gone'\) is not present locally and its definition has no build: context/);
    return true;
  });
  assert.equal(tongCreates(rt2), 0, 'no tong container was created');
  assert.ok(!rt2.ops().includes('buildImage'), 'never pulls, never builds without a context');
});

test('the probe image must be present locally (no pulls)', async () => {
  const rt = new FakeRuntime(['tongs-test-mcp:local']);
  const plan = buildPlan({ github: mcp('github') });
  await assert.rejects(
    applyPlan(plan, rt, { progress: sink().progress }),
    /readiness probes run `node` from the anvil image anvil:local, which is not present locally.*TONGS_PROBE_IMAGE/,
  );
  assert.equal(tongCreates(rt), 0, 'no tong container was created');
});

test('a shared tong is reused while running with a matching hash (no secrets resolved for it), recreated otherwise', async () => {
  const rt = new FakeRuntime(['tongs-test-mcp:local', 'anvil:local']);
  const plan = buildPlan({ cache: mcp('cache', { lifecycle: 'shared' }), gh: mcp('gh') });
  const shared = plan.tongs.find((t) => t.name === 'cache')!;
  assert.equal(shared.containerName, 'tongs-shared-cache');

  // First session: created.
  await applyPlan(plan, rt, { progress: sink().progress });
  const first = rt.byName('tongs-shared-cache')!;
  await removeSessionResources(rt, plan.sessionId, plan.network!.name);
  assert.equal(rt.byName('tongs-shared-cache')?.id, first.id, 'teardown leaves the shared tong');
  assert.equal(first.networks.size, 0, 'and disconnects it from the session network');
  assert.equal(rt.byName(plan.tongs.find((t) => t.name === 'gh')!.containerName), undefined);

  // Second session, same definition: reused and connected under its aliases; nothing resolved for it.
  const plan2 = buildPlan({ cache: mcp('cache', { lifecycle: 'shared' }), gh: mcp('gh') }, { sessionId: 'bbbbbbbbbbbb' });
  const resolvedFor: string[] = [];
  const applied = await applyPlan(plan2, rt, {
    progress: sink().progress,
    resolveSecrets: async (tongs) => {
      resolvedFor.push(...tongs.map((t) => t.name));
      return new Map();
    },
  });
  assert.deepEqual(applied.reused, ['cache']);
  assert.deepEqual(resolvedFor, ['gh']);
  assert.equal(rt.byName('tongs-shared-cache')!.id, first.id);
  assert.deepEqual(first.networks.get(plan2.network!.name), ['cache']);
  await removeSessionResources(rt, plan2.sessionId, plan2.network!.name);

  // Third session, changed definition: the old container is replaced.
  const plan3 = buildPlan({ cache: mcp('cache', { lifecycle: 'shared', env: { X: '1' } }) }, { sessionId: 'cccccccccccc' });
  await applyPlan(plan3, rt, { progress: sink().progress });
  const third = rt.byName('tongs-shared-cache')!;
  assert.notEqual(third.id, first.id);
  assert.equal(third.spec.labels[LABEL_CONFIG_HASH], plan3.tongs[0]!.configHash);
});

test('a tong that is not ready in time fails with a message naming the tong and the probe', async () => {
  const rt = new FakeRuntime(['tongs-test-port:local', 'anvil:local']);
  rt.probeOutcome = (t) => (t.tong === 'slow' ? { tong: t.tong, ready: false, detail: 'tcp slow:8080 refused' } : { tong: t.tong, ready: true, ms: 3 });
  const plan = buildPlan({
    slow: { image: 'tongs-test-port:local', interface: { kind: 'port', port: 8080 }, readiness: { timeout: '2s' } },
    fine: { image: 'tongs-test-port:local', interface: { kind: 'port', port: 8080 } },
  });
  await assert.rejects(applyPlan(plan, rt, { progress: sink().progress }), (err: Error) => {
    assert.ok(err instanceof ReadinessError);
    assert.equal(err.message, "tong 'slow' not ready after 2 s: tcp slow:8080 refused");
    return true;
  });
});

test('healthcheck readiness with a command: exec’d in the tong until it exits 0; timeout names the command', async () => {
  const rt = new FakeRuntime(['img:local']);
  let calls = 0;
  rt.execHandler = () => (++calls < 3 ? { exitCode: 1, stdout: '', stderr: 'no socket yet' } : { exitCode: 0, stdout: '', stderr: '' });
  const plan = buildPlan(
    { hc: { image: 'img:local', interface: { kind: 'none' }, readiness: { mode: 'healthcheck', command: ['test', '-S', '/x'], timeout: '5s' } } },
    { anvilArgv: ['docker', 'run', 'img:local'] },
  );
  await applyPlan(plan, rt, { progress: sink().progress });
  assert.equal(calls, 3);

  const tong = plan.tongs[0]!;
  const id = rt.byName(tong.containerName)!.id;
  rt.execHandler = () => ({ exitCode: 1, stdout: '', stderr: 'no socket yet' });
  let clock = 0;
  const strategy = READINESS_STRATEGIES.healthcheck;
  await assert.rejects(
    strategy.wait(tong, {
      runtime: rt,
      containerId: id,
      probe: null,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
    }),
    /^ReadinessError: tong 'hc' not ready after 5 s: healthcheck `test -S \/x` exited 1 \(no socket yet\)$/,
  );
});

test('healthcheck readiness waits between tries at least as long as the last exec took (a slow exec is not repeated back to back)', async () => {
  const rt = new FakeRuntime(['img:local']);
  const plan = buildPlan(
    { hc: { image: 'img:local', interface: { kind: 'none' }, readiness: { mode: 'healthcheck', command: ['node', '-e', 'check()'], timeout: '30s' } } },
    { anvilArgv: ['docker', 'run', 'img:local'] },
  );
  await applyPlan(plan, rt, { progress: sink().progress });
  const tong = plan.tongs[0]!;
  let clock = 0;
  let tries = 0;
  // Each exec takes 400 ms of the clock (a Node start in a busy tong); the fifth succeeds.
  rt.execHandler = () => {
    clock += 400;
    return ++tries < 5 ? { exitCode: 1, stdout: '', stderr: 'not yet' } : { exitCode: 0, stdout: '', stderr: '' };
  };
  const pauses: number[] = [];
  await READINESS_STRATEGIES.healthcheck.wait(tong, {
    runtime: rt,
    containerId: rt.byName(tong.containerName)!.id,
    probe: null,
    now: () => clock,
    sleep: async (ms) => {
      pauses.push(ms);
      clock += ms;
    },
  });
  assert.equal(tries, 5);
  assert.deepEqual(pauses, [400, 400, 400, 400], 'never less than the 400 ms an exec took (the plain back-off would be 50, 100, 200, 250)');
});

test('healthcheck readiness with no command waits for the image HEALTHCHECK; an image without one is refused', async () => {
  const rt = new FakeRuntime();
  rt.addImage('hc:local', { hasHealthcheck: true });
  rt.addImage('plain:local');
  rt.onStart = (c) => {
    if (c.spec.image === 'hc:local') setTimeout(() => (c.health = 'healthy'), 120);
  };
  const def = (image: string) => ({ image, interface: { kind: 'none' as const }, readiness: { mode: 'healthcheck' as const, timeout: '5s' } });
  const plan = buildPlan({ hc: def('hc:local') }, { anvilArgv: ['docker', 'run', 'hc:local'] });
  const t0 = Date.now();
  await applyPlan(plan, rt, { progress: sink().progress });
  assert.ok(Date.now() - t0 >= 100);

  const plan2 = buildPlan({ plain: def('plain:local') }, { anvilArgv: ['docker', 'run', 'plain:local'], sessionId: 'dddddddddddd' });
  await assert.rejects(applyPlan(plan2, rt, { progress: sink().progress }), /readiness mode is healthcheck with no command, but image plain:local has no HEALTHCHECK/);
});

test('a tong whose container exits while waiting fails at once with its log tail', async () => {
  const rt = new FakeRuntime(['img:local']);
  rt.onStart = (c) => {
    c.logs = 'fatal: no config\n';
    setTimeout(() => rt.exit(c, 4), 20);
  };
  const plan = buildPlan(
    { crash: { image: 'img:local', interface: { kind: 'none' }, readiness: { mode: 'healthcheck', command: ['false'], timeout: '30s' } } },
    { anvilArgv: ['docker', 'run', 'img:local'] },
  );
  rt.execHandler = () => ({ exitCode: 1, stdout: '', stderr: '' });
  const t0 = Date.now();
  await assert.rejects(applyPlan(plan, rt, { progress: sink().progress }), /tong 'crash' exited with status 4 before it was ready:\nfatal: no config/);
  assert.ok(Date.now() - t0 < 5000);
});

test('aborting readiness rejects with the abort reason at once', async () => {
  const rt = new FakeRuntime(['img:local']);
  rt.execHandler = () => ({ exitCode: 1, stdout: '', stderr: '' });
  const plan = buildPlan(
    { w: { image: 'img:local', interface: { kind: 'none' }, readiness: { mode: 'healthcheck', command: ['false'], timeout: '60s' } } },
    { anvilArgv: ['docker', 'run', 'img:local'] },
  );
  const id = await rt.createContainer(tongSpec(plan.tongs[0]!, 'n', rt.images.get('img:local')!, false));
  await rt.startContainer(id);
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('stop now')), 50);
  await assert.rejects(
    waitForReadiness(plan.tongs, { runtime: rt, containers: new Map([['w', id]]), probe: null, signal: controller.signal }),
    /stop now/,
  );
});

test('removeSessionResources is idempotent and removes only the session, never shared tongs', async () => {
  const rt = new FakeRuntime(['tongs-test-port:local', 'anvil:local']);
  const port = { image: 'tongs-test-port:local', interface: { kind: 'port' as const, port: 80 } };
  const a = buildPlan({ x: port, s: { ...port, lifecycle: 'shared' } }, { sessionId: 'aaaaaaaaaaaa' });
  const b = buildPlan({ x: port }, { sessionId: 'bbbbbbbbbbbb' });
  await applyPlan(a, rt, { progress: sink().progress });
  await applyPlan(b, rt, { progress: sink().progress });
  const first = await removeSessionResources(rt, a.sessionId, a.network!.name);
  assert.deepEqual(first, { containers: 1, networks: 1 });
  const again = await removeSessionResources(rt, a.sessionId, a.network!.name);
  assert.deepEqual(again, { containers: 0, networks: 0 });
  assert.ok(rt.byName('tongs-shared-s'), 'shared tong kept');
  assert.ok(rt.byName(b.tongs[0]!.containerName), 'the other session is untouched');
  assert.equal([...rt.networks.values()].map((n) => n.name).join(), b.network!.name);
});

test('an engine that ignores memory limits: one warning names the limited tongs and the reason; none where limits hold', async () => {
  const plan = buildPlan({
    github: mcp('github', { resources: { memory: '256m' } }),
    db: { image: 'tongs-test-port:local', interface: { kind: 'port' as const, port: 5432 }, resources: { memory: '1g' } },
    free: { image: 'tongs-test-port:local', interface: { kind: 'none' as const } },
  });
  const ignoring = new FakeRuntime(['tongs-test-mcp:local', 'tongs-test-port:local', 'anvil:local']);
  ignoring.ignoresMemoryLimits = 'rootless Podman on cgroup v1 without the memory controller';
  const warned = sink();
  await applyPlan(plan, ignoring, { progress: warned.progress });
  const lines = warned.text().split('\n').filter((l) => l.includes('memory limits'));
  assert.deepEqual(lines, [
    "tongs: this engine does not enforce memory limits (rootless Podman on cgroup v1 without the memory controller): tong 'github' (256 MiB), tong 'db' (1 GiB) run without their limit",
  ]);
  const enforcing = sink();
  await applyPlan(plan, new FakeRuntime(['tongs-test-mcp:local', 'tongs-test-port:local', 'anvil:local']), { progress: enforcing.progress });
  assert.doesNotMatch(enforcing.text(), /memory limits/);
});
