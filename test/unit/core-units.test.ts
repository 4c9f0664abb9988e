/**
 * The value parsers behind validation and planning: durations (readiness.timeout), memory sizes
 * (resources.memory) and mount words (DESIGN.md "Tong definitions").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDurationMs } from '../../launcher/core/duration.js';
import { parseMemoryBytes } from '../../launcher/core/memory.js';
import { parseMountWord } from '../../launcher/core/mounts.js';

test('durations: 500ms, 30s, 2m, bare seconds; zero and junk are null', () => {
  const cases: [string | number, number | null][] = [
    ['500ms', 500], ['30s', 30_000], ['2m', 120_000], ['1.5s', 1500], ['10', 10_000], [10, 10_000], [0.25, 250],
    [' 5s ', 5000], ['0', null], ['0ms', null], [0, null], [-1, null], ['1h', null], ['s', null], ['5 s', null], ['', null],
  ];
  for (const [input, want] of cases) assert.equal(parseDurationMs(input), want, JSON.stringify(input));
});

test('memory: bytes and b/k/m/g units (binary), any case, optional trailing b', () => {
  const cases: [string | number, number | null][] = [
    [1024, 1024], ['1024', 1024], ['512k', 512 * 1024], ['256m', 256 * 1024 ** 2], ['256MB', 256 * 1024 ** 2],
    ['1g', 1024 ** 3], ['1.5g', 1.5 * 1024 ** 3], ['100b', 100], ['2t', null], ['lots', null], [-5, null],
  ];
  for (const [input, want] of cases) assert.equal(parseMemoryBytes(input), want, JSON.stringify(input));
});

test('mount words parse into workspace or volume mounts with defaults', () => {
  assert.deepEqual(parseMountWord('workspace'), { kind: 'workspace', target: '/workspace', readOnly: false });
  assert.deepEqual(parseMountWord('workspace:ro'), { kind: 'workspace', target: '/workspace', readOnly: true });
  assert.deepEqual(parseMountWord('workspace:/src/'), { kind: 'workspace', target: '/src', readOnly: false });
  assert.deepEqual(parseMountWord('workspace:/a/../b:rw'), { kind: 'workspace', target: '/b', readOnly: false });
  assert.deepEqual(parseMountWord('volume:cache:/var/cache:ro'), { kind: 'volume', name: 'cache', target: '/var/cache', readOnly: true });
  for (const [word, message] of [
    ['/etc:/etc', /raw host paths are not allowed/],
    ['~/x:/x', /raw host paths are not allowed/],
    ['./x:/x', /raw host paths are not allowed/],
    ['workspace:/', /must not be \/ /],
    ['workspace:/a:/b', /not a mount word/],
    ['volume:v', /not a mount word/],
    ['volume:v:rel', /must be an absolute path/],
    ['tmpfs:/x', /not a mount word/],
  ] as const) {
    const parsed = parseMountWord(word);
    assert.ok('error' in parsed, word);
    assert.match(parsed.error, message, word);
  }
});
