/**
 * Shared helpers for tests that run programs as a user would (no Docker needed): the repository paths,
 * spawning a process and collecting its output, the built CLI as a black box, `make` with the
 * caller's make flags dropped, and temp-dir fixtures removed in `t.after`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file compiles to dist/test/support/process.js). */
export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** The built CLI as it ships (`tongs`: the entry of the esbuild bundle, make/bundle.mjs). */
export const CLI = join(REPO_ROOT, 'dist', 'bundle', 'tongs.cjs');
/**
 * The same CLI as tsc compiled it, one module per file: for tests that watch which npm packages a
 * command resolves (test/fixtures/module-trace), which the bundle holds inside itself.
 */
export const CLI_MODULES = join(REPO_ROOT, 'dist', 'launcher', 'cli.js');

/** How a process ended and everything it printed (UTF-8). */
export interface ProcessResult {
  /** Exit status, or null when a signal ended it. */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** The whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Default: this process's. */
  cwd?: string;
  /** Written to stdin, which is then closed. Without it stdin is a pipe closed at once (EOF). */
  input?: string | Buffer;
}

/** The part of a test context the fixtures need (node:test's TestContext fits). */
export interface AfterHook {
  after(fn: () => unknown): void;
}

/** A started process and the promise of its result. */
export interface StartedProcess {
  child: ChildProcess;
  /** Resolves when the process has exited and its output streams closed. */
  done: Promise<ProcessResult>;
}

/** A started process whose output can be awaited while it runs. */
export interface WatchedProcess extends StartedProcess {
  /** Everything printed so far. */
  output(): { stdout: string; stderr: string };
  /**
   * Resolves once stdout+stderr so far match `pattern`; rejects after `timeoutMs` (default 30 s) or
   * when the process exits without a match, with the output in the message.
   */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/**
 * Watch an already spawned `child` (stdout/stderr piped) until it closes. `input`, when given, is
 * written to its stdin; a piped stdin is closed either way. `done` rejects only when the process
 * cannot be spawned.
 */
export function watch(child: ChildProcess, input?: string | Buffer): WatchedProcess {
  let stdout = '';
  let stderr = '';
  const watchers: Array<() => void> = [];
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    watchers.forEach((w) => w());
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    watchers.forEach((w) => w());
  });
  // The child may exit before reading its input (EPIPE): its status says so, not a stream error.
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(input);
  const done = new Promise<ProcessResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
  return {
    child,
    done,
    output: () => ({ stdout, stderr }),
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(stdout + stderr)) {
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${pattern}; stdout=${stdout} stderr=${stderr}`)),
          timeoutMs,
        );
        watchers.push(check);
        const ended = () => {
          check();
          clearTimeout(timer);
          setTimeout(() => reject(new Error(`exited before ${pattern}; stdout=${stdout} stderr=${stderr}`)), 0);
        };
        done.then(ended, ended);
        check();
      });
    },
  };
}

/** Start `command args…` (no shell), feed `options.input` and watch its output until it exits. */
export function startProcess(command: string, args: string[], options: RunOptions = {}): WatchedProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: 'pipe' });
  return watch(child, options.input);
}

/** Run `command args…` to completion (no shell) and collect its output. */
export function runProcess(command: string, args: string[], options: RunOptions = {}): Promise<ProcessResult> {
  return startProcess(command, args, options).done;
}

/** Run the built CLI, `node dist/bundle/tongs.cjs ARGS…`, to completion. */
export function runCli(args: string[], options: RunOptions = {}): Promise<ProcessResult> {
  return runProcess(process.execPath, [CLI, ...args], options);
}

/** `env` without MAKEFLAGS/MAKELEVEL, so a `make` run by a test does not inherit the outer make's jobs. */
export function makeEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const clean = { ...env };
  delete clean.MAKEFLAGS;
  delete clean.MAKELEVEL;
  return clean;
}

/** `make -s --no-print-directory -C REPO_ROOT ARGS…` to completion, with {@link makeEnv}. */
export function runMake(args: string[], options: RunOptions = {}): Promise<ProcessResult> {
  return runProcess('make', ['-s', '--no-print-directory', '-C', REPO_ROOT, ...args], {
    ...options,
    env: makeEnv(options.env),
  });
}

/** A fresh directory under the OS temp dir, removed (recursively) in `t.after`. */
export async function tempDir(t: AfterHook, prefix = 'tongs-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** {@link tempDir} for synchronous tests. */
export function tempDirSync(t: AfterHook, prefix = 'tongs-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A DOCKER_HOST value inside `dir` where no engine listens: a run that touches Docker fails, so
 * "needed no engine" is observable.
 */
export function unreachableDockerHost(dir: string): string {
  return `unix://${join(dir, 'no-docker.sock')}`;
}
