/**
 * Progress lines on stderr for `tongs run` (issue #3 "Progress"): one line per phase with timings, e.g.
 * `tongs: started 3 tongs in 0.41 s; ready in 0.62 s`. When stderr is a TTY a spinner shows the phase in
 * progress on the same line; otherwise only the finished lines are printed. `quiet` silences everything
 * except what `warn` prints.
 */

export interface Progress {
  /** Shows `text` as the phase in progress (spinner on a TTY; nothing otherwise). */
  phase(text: string): void;
  /** Prints one finished line (`tongs: <text>`), replacing the spinner. */
  line(text: string): void;
  /** Prints a warning line even when quiet. */
  warn(text: string): void;
  /** Stops the spinner and clears its line. Call before handing the terminal to the anvil. */
  stop(): void;
  /**
   * The anvil now shares the terminal (DESIGN.md "Launch order": it starts while the tongs start, and
   * `docker run -t` puts the terminal in raw mode): the spinner stops for good, and lines end in
   * `\r\n`, since raw mode no longer turns `\n` into a new line at column 0.
   */
  shareTerminal(): void;
  /** With DEBUG=tongs (or `tongs*`, `*`): a timestamped trace line, milliseconds since the progress began. */
  debug(text: string): void;
}

export interface ProgressOptions {
  quiet: boolean;
  /** Defaults to process.stderr. */
  stream?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
  /** Milliseconds between spinner frames (default 80). */
  intervalMs?: number;
  /** Trace on (default: DEBUG names tongs, as in `DEBUG=tongs*`). */
  debug?: boolean;
}

/** True when DEBUG asks for tongs traces (`tongs`, `tongs*`, `tongs:*`, `*`). */
export function debugEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.DEBUG ?? '').split(/[\s,]+/).some((p) => p === '*' || /^tongs(\*|:.*)?$/.test(p));
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Seconds with two decimals, as people read them: `0.41 s`. */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

export function createProgress(options: ProgressOptions): Progress {
  const out = options.stream ?? process.stderr;
  const tty = Boolean(out.isTTY);
  const tracing = options.debug ?? debugEnabled();
  const began = performance.now();
  let timer: NodeJS.Timeout | null = null;
  let current = '';
  let frame = 0;
  let shared = false;
  const eol = () => (tty && shared ? '\r\n' : '\n');

  const clear = () => {
    if (tty && current) out.write('\r\x1b[2K');
  };
  const draw = () => {
    out.write(`\r\x1b[2Ktongs: ${FRAMES[frame++ % FRAMES.length]} ${current}`);
  };
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = null;
    clear();
    current = '';
  };

  return {
    phase(text) {
      if (options.quiet || !tty || shared) return;
      current = text;
      draw();
      if (!timer) {
        timer = setInterval(draw, options.intervalMs ?? 80);
        timer.unref();
      }
    },
    line(text) {
      if (options.quiet) return;
      clear();
      out.write(`tongs: ${text}${eol()}`);
      if (tty && current) draw();
    },
    warn(text) {
      clear();
      out.write(`tongs: ${text}${eol()}`);
      if (tty && current && !options.quiet) draw();
    },
    stop,
    shareTerminal() {
      stop();
      shared = true;
    },
    debug(text) {
      if (!tracing) return;
      clear();
      out.write(`tongs: [${(performance.now() - began).toFixed(0).padStart(5)} ms] ${text}${eol()}`);
      if (tty && current && !options.quiet) draw();
    },
  };
}
