/**
 * `withoutRunRm` (launcher/core/docker-argv.ts): the anvil argv without `--rm`, which the Docker runtime
 * drops on Podman (its wait for removal loses the exit status; launcher/shell/engine/docker-runtime.ts).
 * Only docker's own run options lose it; values and the image's arguments are never touched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withoutRunRm } from '../../launcher/core/docker-argv.js';

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
