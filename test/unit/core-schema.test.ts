/**
 * Golden test of the JSON Schema (issue #2 item 2): `tongs schema` prints the schema generated from
 * the same zod schema the validator uses, and it must equal the committed
 * schema/tong-definition.schema.json. Regenerate with
 * `node dist/launcher/cli.js schema > schema/tong-definition.schema.json`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { tongDefinitionJsonSchema } from '../../launcher/core/definition-schema.js';
import { REPO_ROOT, runCli } from '../support/process.js';

const SCHEMA_FILE = path.join(REPO_ROOT, 'schema', 'tong-definition.schema.json');
const REGENERATE = 'regenerate with: node dist/launcher/cli.js schema > schema/tong-definition.schema.json';

test('the committed JSON Schema equals the one generated from zod', async () => {
  const committed = await readFile(SCHEMA_FILE, 'utf8');
  assert.equal(`${JSON.stringify(tongDefinitionJsonSchema(), null, 2)}\n`, committed, REGENERATE);
});

test('`tongs schema` prints exactly the committed file on stdout', async () => {
  const { status, stdout, stderr } = await runCli(['schema']);
  assert.equal(status, 0, stderr);
  assert.equal(stderr, '');
  assert.equal(stdout, await readFile(SCHEMA_FILE, 'utf8'), REGENERATE);
});

test('the schema is strict and knows the five interface kinds', () => {
  const schema = tongDefinitionJsonSchema() as { anyOf: { properties: Record<string, { oneOf?: { properties: { kind: { const: string } } }[] }>; additionalProperties: boolean; required?: string[] }[] };
  const [full, disabled] = schema.anyOf;
  assert.ok(full && disabled);
  assert.equal(full.additionalProperties, false);
  assert.deepEqual(full.required, ['image']);
  assert.deepEqual(full.properties.interface?.oneOf?.map((o) => o.properties.kind.const), ['mcp', 'model', 'egress', 'port', 'none']);
  assert.deepEqual(disabled.required, ['disable']);
});
