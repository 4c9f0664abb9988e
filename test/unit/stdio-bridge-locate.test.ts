// Where the launcher finds the stdio bridge (launcher/shell/gather/stdio-bridge.ts, issue #13): the
// dist/stdio-bridge beside the dist it runs from, as tsc output or as the bundle, and what is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { locateStdioBridge, stdioBridgeDir } from '../../launcher/shell/gather/stdio-bridge.js';
import { tempDir } from '../support/process.js';

test('the bridge directory is found from the tsc output and from the launcher bundle alike', () => {
  assert.equal(stdioBridgeDir(pathToFileURL('/opt/tongs/dist/launcher/shell/gather/stdio-bridge.js').href), '/opt/tongs/dist/stdio-bridge');
  assert.equal(stdioBridgeDir(pathToFileURL('/opt/tongs/dist/bundle/chunk-ABCD1234.cjs').href), '/opt/tongs/dist/stdio-bridge');
});

test('bundle, host runtime, or neither', async (t) => {
  const dir = await tempDir(t, 'tongs-bridge-');
  assert.deepEqual(locateStdioBridge(dir), { dir: null, hostRuntime: false, hostRuntimeMissing: `${path.join(dir, 'runtime')} is missing` });
  await writeFile(path.join(dir, 'bridge.mjs'), '');
  assert.equal(locateStdioBridge(dir).dir, dir);
  assert.equal(locateStdioBridge(dir).hostRuntime, false);
  await mkdir(path.join(dir, 'runtime', 'lib'), { recursive: true });
  await writeFile(path.join(dir, 'runtime', 'node'), '');
  await writeFile(path.join(dir, 'runtime', 'loader'), '');
  assert.deepEqual(locateStdioBridge(dir), { dir, hostRuntime: true });
});
