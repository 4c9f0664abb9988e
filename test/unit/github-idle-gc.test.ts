// The GitHub tong's idle collector (sidecars/github/src/idle-gc.ts; issue #5 "Speed and memory"):
// one collection after a burst of requests, none while requests keep coming or when nothing happened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startIdleCollector } from '../../sidecars/github/src/idle-gc.js';

test('collects once after a burst, never during it, never without one', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  let requests = 0;
  let collections = 0;
  const stop = startIdleCollector({ activity: () => requests, collect: () => collections++, intervalMs: 1000 });
  t.after(stop);

  t.mock.timers.tick(5000);
  assert.equal(collections, 0, 'no requests yet: nothing to give back');

  for (let i = 0; i < 5; i++) {
    requests += 3;
    t.mock.timers.tick(1000);
  }
  assert.equal(collections, 0, 'requests arrived in every interval: the burst is not over');

  t.mock.timers.tick(1000);
  assert.equal(collections, 1, 'the first quiet interval collects');
  t.mock.timers.tick(10_000);
  assert.equal(collections, 1, 'staying idle does not collect again');

  requests++;
  t.mock.timers.tick(2000);
  assert.equal(collections, 2, 'the next burst, even one request, is followed by one collection');
});

test('stop ends the checks', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  let requests = 0;
  let collections = 0;
  const stop = startIdleCollector({ activity: () => requests, collect: () => collections++, intervalMs: 1000 });
  requests++;
  t.mock.timers.tick(1000);
  stop();
  t.mock.timers.tick(5000);
  assert.equal(collections, 0);
});
