/**
 * First-run approval of workspace tongs and the workspace env file (issue #6 "First-run approval"):
 * y, yes, n, anything else, EOF, --no-prompt, a changed definition, the store and its corruption.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { RefusalError } from '../../launcher/errors.js';
import {
  approveWorkspace,
  defaultApprovalsPath,
  envFileHash,
  readApprovalStore,
  type ApprovalTong,
  type WorkspaceApprovalOptions,
} from '../../launcher/shell/gather/approval.js';
import { tempDir, type AfterHook } from '../support/process.js';

const WORKSPACE = '/home/dev/project';

function tong(name: string, overrides: Partial<ApprovalTong> = {}): ApprovalTong {
  return {
    name,
    layer: 'workspace',
    file: `${WORKSPACE}/.tongs/tongs/${name}.yaml`,
    image: `${name}:local`,
    build: null,
    lifecycle: 'session',
    alias: name,
    aliases: [],
    port: 8080,
    kind: 'mcp',
    secretEnv: { TOKEN: '${secret:env:GITHUB_TOKEN}' },
    mounts: [],
    memoryBytes: null,
    configHash: 'aaaaaaaaaaaaaaaa',
    ...overrides,
  };
}

class Capture {
  text = '';
  write(s: string) {
    this.text += s;
    return true;
  }
}

async function setup(t: AfterHook) {
  const dir = await tempDir(t, 'tongs-approval-');
  return { dir, storePath: path.join(dir, 'home', 'approvals.json') };
}

/** Run the approval with `answers` as the whole input (a string ending without newline still counts). */
async function approve(
  storePath: string,
  tongs: ApprovalTong[],
  answers: string,
  extra: Partial<WorkspaceApprovalOptions> = {},
) {
  const stderr = new Capture();
  const run = approveWorkspace({
    tongs,
    workspaceRoot: WORKSPACE,
    storePath,
    noPrompt: false,
    input: Readable.from([answers]),
    stderr,
    now: () => new Date('2025-01-02T03:04:05Z'),
    ...extra,
  });
  return { run, stderr };
}

test('y approves: summary then question on stderr, approval stored, next launch does not ask', async (t) => {
  const { storePath } = await setup(t);
  const { run, stderr } = await approve(storePath, [tong('evil')], 'y\n');
  assert.deepEqual(await run, { approvedNow: ['evil'], alreadyApproved: [] });
  assert.match(stderr.text, /^tongs: workspace tong 'evil' \(defined in \/home\/dev\/project\/\.tongs\/tongs\/evil\.yaml\) asks for:\n/);
  assert.match(stderr.text, /tongs: {3}secrets: {3}env:GITHUB_TOKEN\n/);
  // Piped input is not echoed, so the launcher ends the question's line itself.
  assert.ok(stderr.text.endsWith("tongs: Approve workspace tong 'evil'? [y/N] \n"));

  const stored = JSON.parse(await readFile(storePath, 'utf8'));
  assert.deepEqual(stored, {
    version: 1,
    tongs: [{ workspace: WORKSPACE, name: 'evil', configHash: 'aaaaaaaaaaaaaaaa', approvedAt: '2025-01-02T03:04:05.000Z' }],
    envFiles: [],
    egress: [],
  });
  assert.equal((await stat(storePath)).mode & 0o777, 0o600);

  const again = await approve(storePath, [tong('evil')], '');
  assert.deepEqual(await again.run, { approvedNow: [], alreadyApproved: ['evil'] });
  assert.equal(again.stderr.text, '', 'an approved tong is not shown again');
});

test('a terminal echoes the answer, so no extra newline follows the question', async (t) => {
  const { storePath } = await setup(t);
  const input = Object.assign(Readable.from(['y\n']), { isTTY: true });
  const { run, stderr } = await approve(storePath, [tong('evil')], '', { input });
  await run;
  assert.ok(stderr.text.endsWith("tongs: Approve workspace tong 'evil'? [y/N] "));
});

test('yes, YES and surrounding spaces approve; n, no, anything else and EOF decline', async (t) => {
  for (const answer of ['yes\n', 'YES\n', '  Y  \n', 'y']) {
    const { storePath } = await setup(t);
    const { run } = await approve(storePath, [tong('a')], answer);
    assert.deepEqual((await run).approvedNow, ['a'], JSON.stringify(answer));
  }
  for (const answer of ['n\n', 'no\n', '\n', 'yep\n', 'y es\n', 'sure\n', '']) {
    const { storePath } = await setup(t);
    const { run, stderr } = await approve(storePath, [tong('a')], answer);
    await assert.rejects(run, (e: Error) => e instanceof RefusalError && /workspace tong 'a' was not approved/.test(e.message), JSON.stringify(answer));
    if (answer === '') assert.match(stderr.text, /\[y\/N\] \n$/, 'EOF ends the question line');
    await assert.rejects(stat(storePath), { code: 'ENOENT' }, 'nothing is stored after a refusal');
  }
});

test('several pending tongs: one answer each; stored only after the last is approved', async (t) => {
  const { storePath } = await setup(t);
  const declined = await approve(storePath, [tong('one'), tong('two'), tong('trusted', { layer: 'repo' })], 'y\nn\n');
  await assert.rejects(declined.run, /workspace tong 'two' was not approved/);
  await assert.rejects(stat(storePath), { code: 'ENOENT' }, 'the approval of one is not stored alone');
  assert.doesNotMatch(declined.stderr.text, /trusted/, 'non-workspace tongs are not gated');

  const eof = await approve(storePath, [tong('one'), tong('two')], 'y\n');
  await assert.rejects(eof.run, /'two' was not approved \(no answer: input ended\)/);

  const both = await approve(storePath, [tong('one'), tong('two')], 'y\ny\n');
  assert.deepEqual((await both.run).approvedNow, ['one', 'two']);
  const stored = await readApprovalStore(storePath, new Capture());
  assert.deepEqual(stored.tongs.map((a) => a.name), ['one', 'two']);
});

test('a changed definition asks again and replaces the old approval', async (t) => {
  const { storePath } = await setup(t);
  await (await approve(storePath, [tong('evil')], 'y\n')).run;
  const changed = tong('evil', { configHash: 'bbbbbbbbbbbbbbbb', image: 'evil:v2' });
  const refused = await approve(storePath, [changed], 'n\n');
  await assert.rejects(refused.run, RefusalError);
  assert.match(refused.stderr.text, /image: {5}evil:v2/);

  await (await approve(storePath, [changed], 'y\n')).run;
  const stored = await readApprovalStore(storePath, new Capture());
  assert.deepEqual(stored.tongs.map((a) => [a.name, a.configHash]), [['evil', 'bbbbbbbbbbbbbbbb']]);

  // The same tong name in another workspace is a different approval.
  const other = await approve(storePath, [changed], '', { workspaceRoot: '/elsewhere' });
  await assert.rejects(other.run, RefusalError);
});

test('--no-prompt prints every pending summary, then refuses without reading input', async (t) => {
  const { storePath } = await setup(t);
  const { run, stderr } = await approve(storePath, [tong('one'), tong('two')], 'y\ny\n', { noPrompt: true });
  await assert.rejects(
    run,
    (e: Error) => e instanceof RefusalError && /'one', 'two'/.test(e.message) && /--no-prompt/.test(e.message),
  );
  assert.match(stderr.text, /workspace tong 'one'/);
  assert.match(stderr.text, /workspace tong 'two'/);
  assert.doesNotMatch(stderr.text, /\[y\/N\]/, 'no question is asked');
  await assert.rejects(stat(storePath), { code: 'ENOENT' });

  // Already approved tongs pass with --no-prompt.
  await (await approve(storePath, [tong('one')], 'y\n')).run;
  assert.deepEqual(await (await approve(storePath, [tong('one')], '', { noPrompt: true })).run, {
    approvedNow: [],
    alreadyApproved: ['one'],
  });
});

test('a corrupt store is treated as empty with a warning, and is replaced on approval', async (t) => {
  for (const content of ['{not json', '{"version": 7}', '[]', '']) {
    const { storePath } = await setup(t);
    await (await import('node:fs/promises')).mkdir(path.dirname(storePath), { recursive: true });
    await writeFile(storePath, content);
    const { run, stderr } = await approve(storePath, [tong('a')], 'y\n');
    assert.deepEqual((await run).approvedNow, ['a']);
    assert.match(stderr.text, /^tongs: warning: approvals file .*approvals\.json .*treating it as empty\n/, JSON.stringify(content));
    assert.equal((await readApprovalStore(storePath, new Capture())).tongs.length, 1);
    assert.deepEqual(await readdir(path.dirname(storePath)), ['approvals.json'], 'no temp file is left behind');
  }
});

test('the workspace .tongs/env file goes through the same approval, keyed by its content', async (t) => {
  const { storePath } = await setup(t);
  const envFile = { path: `${WORKSPACE}/.tongs/env`, content: '# comment\nANTHROPIC_BASE_URL=http://proxy\n\nFOO=bar\n' };
  const first = await approve(storePath, [], 'y\n', { envFile });
  assert.deepEqual(await first.run, { approvedNow: ['.tongs/env'], alreadyApproved: [] });
  assert.equal(
    first.stderr.text,
    `tongs: workspace env file ${WORKSPACE}/.tongs/env sets in the anvil's environment:\n` +
      'tongs:   ANTHROPIC_BASE_URL=http://proxy\n' +
      'tongs:   FOO=bar\n' +
      `tongs: Approve workspace env file '${WORKSPACE}/.tongs/env'? [y/N] \n`,
  );
  const stored = await readApprovalStore(storePath, new Capture());
  assert.deepEqual(stored.envFiles, [{ workspace: WORKSPACE, contentHash: envFileHash(envFile.content), approvedAt: '2025-01-02T03:04:05.000Z' }]);

  assert.deepEqual(await (await approve(storePath, [], '', { envFile })).run, { approvedNow: [], alreadyApproved: ['.tongs/env'] });
  const edited = await approve(storePath, [], 'n\n', { envFile: { ...envFile, content: 'FOO=evil\n' } });
  await assert.rejects(edited.run, /workspace env file '.tongs\/env' was not approved/);

  // Tongs and env file in one pass: one answer each, in order.
  const both = await approve(storePath, [tong('x')], 'y\ny\n', { envFile: { ...envFile, content: 'FOO=evil\n' } });
  assert.deepEqual((await both.run).approvedNow, ['x', '.tongs/env']);
});

test('nothing to gate: no store is read or written', async (t) => {
  const { storePath } = await setup(t);
  const { run, stderr } = await approve(storePath, [tong('repo-tong', { layer: 'repo' })], '');
  assert.deepEqual(await run, { approvedNow: [], alreadyApproved: [] });
  assert.equal(stderr.text, '');
  await assert.rejects(stat(storePath), { code: 'ENOENT' });
});

test('defaultApprovalsPath honours TONGS_HOME', () => {
  assert.equal(defaultApprovalsPath({ TONGS_HOME: '/th' }), '/th/approvals.json');
  assert.ok(defaultApprovalsPath({}).endsWith(path.join('.tongs', 'approvals.json')));
});
