/**
 * Provider entries through `tongs run` on the real engine (issue #13 item 4): a command provider
 * (a small script) declared as two entries with different argv, and a third with its own
 * environment; each reference reaches the tong with the value its entry's command printed. An
 * entry that does not exist ends the launch with exit 1, naming the definition's file and line,
 * before any container exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LABEL_LAUNCHER_PID } from '../../launcher/core/labels.js';
import { BASE_IMAGE, TEST_LABEL, cleanupByLabel, leftovers, nodeAnvil, requireDocker, startTongs, tempDir, tongLayer } from '../support/docker.js';

const RUN_ID = `entries-${randomBytes(3).toString('hex')}`;

/** A port tong that answers each connection with its A, B and C variables as JSON. */
const SERVER = `require('node:net').createServer((s) => { s.on('error', () => {}); s.end(JSON.stringify({ A: process.env.A, B: process.env.B, C: process.env.C }) + '\\n'); }).listen(9000, '0.0.0.0');`;
/** The anvil: read the tong's answer and print it. */
const ANVIL = `const s = require('node:net').connect(Number(process.env.TONGS_VAULT_PORT), process.env.TONGS_VAULT_HOST); let d = ''; s.on('data', (c) => (d += c)); s.on('end', () => console.log('VALUES ' + d.trim())); s.on('error', (e) => { console.log('FAILED ' + e.message + (e.cause ? ' (' + (e.cause.code || e.cause.message) + ')' : '')); process.exit(99); });`;

test('two provider entries with different argv, and one with its own env, each resolve their references through tongs run', { timeout: 120_000 }, async (t) => {
  const runtime = await requireDocker(t);
  if (!runtime) return;
  t.after(() => cleanupByLabel(runtime, TEST_LABEL, RUN_ID));
  const dir = await tempDir(t, 'tongs-entries-it-');
  const script = join(dir, 'vault.sh');
  await writeFile(script, '#!/bin/sh\nvault=default\n[ "$1" = --vault ] && { vault=$2; shift 2; }\nprintf "%s|%s|%s\\n" "$vault" "$1" "${VAULT_ACCOUNT:-none}"\n');
  await chmod(script, 0o755);
  const providers = join(dir, 'providers.yaml');
  await writeFile(providers, `providers:\n  vault-a: [${script}, --vault, a, "{ref}"]\n  vault-b:\n    use: vault-a\n    argv: [${script}, --vault, b, "{ref}"]\n  vault-work: { use: vault-a, env: { VAULT_ACCOUNT: work } }\n`);
  const definition = (c: string) => `image: ${BASE_IMAGE}
command: [node, -e, ${JSON.stringify(SERVER)}]
env:
  A: \${secret:vault-a:db/password}
  B: \${secret:vault-b:db/password}
  C: \${secret:${c}:db/password}
interface: { kind: port, port: 9000 }
`;
  const layer = await tongLayer(t, { vault: definition('vault-work') });
  const env = { TONGS_HOME: join(dir, 'home') };
  const p = startTongs(['run', '--quiet', '--user-tongs', layer, '--providers', providers, '--', ...nodeAnvil(RUN_ID, ANVIL)], { env });
  const r = await p.done;
  assert.deepEqual(await leftovers(runtime, LABEL_LAUNCHER_PID, String(p.child.pid)), [], 'the session left nothing behind');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.deepEqual(JSON.parse(/^VALUES (.*)$/m.exec(r.stdout)?.[1] ?? 'null'), { A: 'a|db/password|none', B: 'b|db/password|none', C: 'a|db/password|work' });

  const typo = await tongLayer(t, { vault: definition('vault-wrok') });
  const q = startTongs(['run', '--quiet', '--user-tongs', typo, '--providers', providers, '--', ...nodeAnvil(RUN_ID, ANVIL)], { env });
  const refused = await q.done;
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /vault\.yaml:6: env\.C: tong 'vault': unknown secret provider 'vault-wrok' \(reference 'db\/password'\); known providers: env, vault-a, vault-b, vault-work/);
  assert.deepEqual(await leftovers(runtime, LABEL_LAUNCHER_PID, String(q.child.pid)), [], 'nothing was created');
});
