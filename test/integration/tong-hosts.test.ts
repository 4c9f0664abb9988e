/**
 * `hosts:` in a definition (issue #11 item 3): the tong gets the extra /etc/hosts entries, with
 * `host-gateway` mapped by the engine to this host, and the anvil gets none of them. The tong's
 * healthcheck readiness fails unless its /etc/hosts has the entry, so a launch that starts proves it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BASE_IMAGE, TEST_LABEL, cleanupByLabel, managedLeftovers, requireDocker, runTongs, tongLayer } from '../support/docker.js';

const RUN_ID = `hosts-${randomBytes(3).toString('hex')}`;

test('a tong gets its hosts: entries (host-gateway resolved by the engine); the anvil does not', { timeout: 120_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  t.after(() => cleanupByLabel(runtime, TEST_LABEL, RUN_ID));
  const layer = await tongLayer(t, {
    hosty: `image: ${BASE_IMAGE}
command: ["sleep", "300"]
hosts: ["tongs-host.test:host-gateway", "ghe.corp.test:10.1.2.3"]
interface: { kind: none }
readiness: { mode: healthcheck, command: ["sh", "-c", "grep -q 'tongs-host.test' /etc/hosts && grep -q '10.1.2.3.*ghe.corp.test' /etc/hosts"], timeout: 20s }
`,
  });
  const r = await runTongs([
    'run', '--quiet', '--user-tongs', layer, '--',
    'docker', 'run', '--rm', '--label', `${TEST_LABEL}=${RUN_ID}`, BASE_IMAGE, 'sh', '-c', 'grep -c "tongs-host.test\\|ghe.corp.test" /etc/hosts || true',
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '0', "the anvil's /etc/hosts has none of the tong's entries");
  assert.deepEqual(await managedLeftovers(runtime), []);
});
