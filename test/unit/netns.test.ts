/**
 * Shared network namespaces (issue #12 item 4, launcher/core/netns.ts): which tongs the planner
 * groups, and what applyPlan and teardown do with a group against the fake engine (which, as the real
 * ones, starts a joined container only while its holder runs and, as Podman, refuses to remove a
 * holder before the tongs that joined it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerError } from '../../launcher/errors.js';
import { LABEL_ROLE } from '../../launcher/core/labels.js';
import { NETNS_HOLDER_COMMAND } from '../../launcher/core/netns.js';
import { applyPlan } from '../../launcher/shell/apply/apply.js';
import { createProgress } from '../../launcher/shell/progress.js';
import { removeSessionResources } from '../../launcher/shell/teardown/teardown.js';
import { FakeRuntime } from '../fakes/fake-runtime.js';
import { buildPlan } from '../support/plan-builder.js';

const quiet = () => createProgress({ quiet: true, stream: { write: () => true, isTTY: false } });
const mcp = (name: string, port: number, extra: object = {}) => ({
  image: 'tongs-test-mcp:local',
  interface: { kind: 'mcp' as const, port, name },
  ...extra,
});

test('tongs with distinct ports share one namespace; a repeated port, a shared tong, a portless tong and other hosts entries do not', () => {
  const plan = buildPlan({
    a: mcp('a', 8080, { interface: { kind: 'mcp', port: 8080, name: 'a', aliases: ['alpha'] } }),
    b: mcp('b', 8081),
    c: { image: 'tongs-test-port:local', interface: { kind: 'port', port: 5432 } },
    again: mcp('again', 8080),
    keeper: mcp('keeper', 8090, { lifecycle: 'shared' }),
    silent: { image: 'tongs-test-port:local', interface: { kind: 'none' } },
    ghe: mcp('ghe', 8091, { hosts: ['ghe.corp:10.1.2.3'], egress: false }),
  });
  assert.equal(plan.netns?.length, 1, JSON.stringify(plan.netns));
  const [ns] = plan.netns!;
  assert.equal(ns!.containerName, 'tongs-a1b2c3d4-netns-1');
  assert.deepEqual(ns!.tongs, ['a', 'b', 'c']);
  assert.deepEqual(ns!.aliases, ['a', 'alpha', 'b', 'c']);
  assert.equal(ns!.network, plan.network!.name);
  assert.equal(ns!.image, 'anvil:local', 'the holder runs from the anvil image');
  assert.equal(ns!.labels[LABEL_ROLE], 'netns');
  const holderOf = Object.fromEntries(plan.tongs.map((t) => [t.name, t.netns ?? null]));
  assert.deepEqual(holderOf, { a: ns!.containerName, b: ns!.containerName, c: ns!.containerName, again: null, keeper: null, silent: null, ghe: null });
});

test('a second tong on a taken port starts a second namespace; tongs with the same hosts entries share theirs', () => {
  const hosts = { hosts: ['ghe.corp:10.1.2.3'], egress: false };
  const plan = buildPlan({
    a: mcp('a', 8080),
    b: mcp('b', 8081),
    c: mcp('c', 8080),
    d: mcp('d', 8081),
    e: mcp('e', 9000, hosts),
    f: mcp('f', 9001, hosts),
  });
  assert.deepEqual(plan.netns?.map((n) => n.tongs), [['a', 'b'], ['c', 'd'], ['e', 'f']]);
  assert.deepEqual(plan.netns?.[2]?.hosts, ['ghe.corp:10.1.2.3']);
  assert.deepEqual(plan.netns?.[0]?.hosts, []);
});

test('behind the relay a namespace never mixes the egress network with the internal one', () => {
  const plan = buildPlan(
    {
      a: mcp('a', 8080),
      b: mcp('b', 8081),
      out1: mcp('out1', 8082, { egress: true }),
      out2: mcp('out2', 8083, { egress: true }),
    },
    { anvilRelay: true },
  );
  assert.ok(plan.network?.internal && plan.egressNetwork, 'the session network is internal and there is an egress network');
  assert.deepEqual(plan.netns?.map((n) => [n.network, n.tongs]), [
    [plan.network!.name, ['a', 'b']],
    [plan.egressNetwork!.name, ['out1', 'out2']],
  ]);
});

test('sharedNetns: false (TONGS_SHARED_NETNS=0) and a single tong plan no namespace', () => {
  const off = buildPlan({ a: mcp('a', 8080), b: mcp('b', 8081) }, { sharedNetns: false });
  assert.equal(off.netns, undefined);
  assert.ok(off.tongs.every((t) => t.netns === undefined));
  const one = buildPlan({ a: mcp('a', 8080) });
  assert.equal(one.netns, undefined);
  assert.ok(!('netns' in one.tongs[0]!), 'a plan without a namespace has no netns field at all');
});

test('applyPlan starts the holder, then the tongs joined to it without NET_RAW; teardown removes the holder last', async () => {
  const rt = new FakeRuntime(['tongs-test-mcp:local', 'tongs-test-port:local', 'anvil:local']);
  rt.delayMs = 10;
  const plan = buildPlan({ a: mcp('a', 8080), b: mcp('b', 8081), c: { image: 'tongs-test-port:local', interface: { kind: 'port', port: 5432 } } });
  const holderName = plan.netns![0]!.containerName;
  await applyPlan(plan, rt, { progress: quiet() });

  const holder = rt.byName(holderName)!;
  assert.equal(holder.state, 'running');
  assert.deepEqual(holder.spec.network, { name: plan.network!.name, aliases: ['a', 'b', 'c'] });
  assert.deepEqual([...(holder.spec.entrypoint ?? []), ...(holder.spec.command ?? [])], NETNS_HOLDER_COMMAND);
  assert.deepEqual(holder.spec.capDrop, ['ALL']);
  const holderStart = rt.calls.findIndex((c) => c.op === 'startContainer' && c.args[0] === holder.id);
  for (const t of plan.tongs) {
    const c = rt.byName(t.containerName)!;
    assert.equal(c.state, 'running', t.name);
    assert.equal(c.spec.network, null, `${t.name} has no endpoint of its own`);
    assert.equal(c.spec.networkContainer, holder.id);
    assert.deepEqual(c.spec.capDrop, ['NET_RAW']);
    assert.equal(c.spec.extraHosts, undefined);
    const start = rt.calls.findIndex((x) => x.op === 'startContainer' && x.args[0] === c.id);
    assert.ok(start > holderStart, `${t.name} started after its holder`);
  }

  const removed = await removeSessionResources(rt, plan.sessionId);
  assert.ok(removed.containers >= 4);
  assert.equal(rt.containers.size, 0, 'nothing is left, the holder included');
  assert.equal(rt.networks.size, 0);
  const removals = rt.calls.filter((c) => c.op === 'removeContainer').map((c) => c.args[0]);
  assert.equal(removals.at(-1), holder.id, 'the holder goes last');
});

test('a holder that cannot start fails the launch naming its tongs, and teardown still removes everything', async () => {
  const rt = new FakeRuntime(['tongs-test-mcp:local', 'anvil:local']);
  const plan = buildPlan({ a: mcp('a', 8080), b: mcp('b', 8081) });
  const holderName = plan.netns![0]!.containerName;
  const start = rt.startContainer.bind(rt);
  rt.startContainer = async (id: string) => {
    if (rt.byName(holderName)?.id === id) throw new DockerError('OCI runtime create failed: exec: "sleep": executable file not found in $PATH');
    return start(id);
  };
  await assert.rejects(applyPlan(plan, rt, { progress: quiet() }), (err: Error) => {
    assert.ok(err instanceof DockerError);
    assert.match(err.message, /the network namespace shared by tongs 'a', 'b' did not start: OCI runtime create failed: exec: "sleep"/);
    assert.match(err.message, /runs `sleep 2147483647` from the anvil image anvil:local; TONGS_SHARED_NETNS=0 gives each tong its own\)$/);
    return true;
  });
  assert.ok(plan.tongs.every((t) => rt.byName(t.containerName)?.state !== 'running'), 'no tong ran');
  await removeSessionResources(rt, plan.sessionId);
  assert.equal(rt.containers.size, 0);
});
