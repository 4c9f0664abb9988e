/**
 * One full garbage collection when a burst of requests is over (issue #5 "Speed and memory": idle
 * RSS ≤ 80 MB). After a burst V8 keeps the heap it grew, full of garbage, until its memory reducer
 * happens to run; `make bench-github` saw that take 10 s, or not happen within 40 s. The image runs
 * node with `--expose-gc` (sidecars/github/Dockerfile) so the tong can collect once instead.
 */

/** Options of `startIdleCollector`. */
export interface IdleCollectorOptions {
  /** A count that grows with every request (e.g. requests received so far). */
  activity: () => number;
  /** Runs one collection (`globalThis.gc` under `--expose-gc`). */
  collect: () => void;
  /** How often activity is checked, in ms (default 5000): a burst is over after one quiet interval. */
  intervalMs?: number;
}

/**
 * Checks `activity` every `intervalMs`; after an interval with requests, the first interval without
 * any runs `collect` once. Never collects while requests keep coming or while nothing happened.
 * The timer is unref'd, so it never keeps the process alive. Returns a `stop` function.
 */
export function startIdleCollector(options: IdleCollectorOptions): () => void {
  let last = options.activity();
  let busy = false;
  const timer = setInterval(() => {
    const now = options.activity();
    if (now !== last) {
      last = now;
      busy = true;
    } else if (busy) {
      busy = false;
      options.collect();
    }
  }, options.intervalMs ?? 5000);
  timer.unref();
  return () => clearInterval(timer);
}
