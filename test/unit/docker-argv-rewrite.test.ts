/**
 * The anvil argv rewrites of launcher/core/docker-argv.ts:
 * - `withoutRunRm`: the argv without `--rm`, which the Docker runtime drops on Podman (its wait for
 *   removal loses the exit status; launcher/shell/engine/docker-runtime.ts). Only docker's own run
 *   options lose it; values and the image's arguments are never touched.
 * - `withRunOptions`: options inserted first among the run options (the tongs' `--add-host` entries).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withRunOptions, withoutRunRm } from '../../launcher/core/docker-argv.js';

test('withoutRunRm drops --rm and --rm=true among the run options only', () => {
  const cases: Array<[string[], string[], boolean]> = [
    [['docker', 'run', '--rm', '-it', 'img', 'claude', '--rm'], ['docker', 'run', '-it', 'img', 'claude', '--rm'], true],
    [['docker', '--context', 'x', 'container', 'run', '--rm=true', 'img'], ['docker', '--context', 'x', 'container', 'run', 'img'], true],
    [['docker', 'run', '-e', '--rm', '--name', 'a', 'img'], ['docker', 'run', '-e', '--rm', '--name', 'a', 'img'], false],
    [['docker', 'run', '-ite', '--rm', '--rm=false', 'img'], ['docker', 'run', '-ite', '--rm', '--rm=false', 'img'], false],
    [['docker', 'run', '--label=a=b', '--rm', '--', 'img', 'x'], ['docker', 'run', '--label=a=b', '--', 'img', 'x'], true],
    [['sh', '-c', 'docker run --rm img'], ['sh', '-c', 'docker run --rm img'], false],
  ];
  for (const [input, argv, removed] of cases) assert.deepEqual(withoutRunRm(input), { argv, removed }, input.join(' '));
});

test('withRunOptions puts the options right after run, before the user\'s own and the image', () => {
  const hosts = ['--add-host', 'echo:10.89.0.5'];
  assert.deepEqual(withRunOptions(['docker', 'run', '--rm', 'img', 'a'], hosts), ['docker', 'run', '--add-host', 'echo:10.89.0.5', '--rm', 'img', 'a']);
  assert.deepEqual(
    withRunOptions(['docker', '--context', 'x', 'container', 'run', '-it', 'img'], hosts),
    ['docker', '--context', 'x', 'container', 'run', '--add-host', 'echo:10.89.0.5', '-it', 'img'],
  );
  const argv = ['docker', 'run', 'img'];
  assert.deepEqual(withRunOptions(argv, []), argv);
  assert.notEqual(withRunOptions(argv, []), argv, 'a copy');
  assert.deepEqual(withRunOptions(['podman', 'run', 'img'], hosts), ['podman', 'run', 'img'], 'not a docker run: unchanged');
});
