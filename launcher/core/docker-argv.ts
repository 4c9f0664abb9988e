/**
 * Reading a `docker run …` anvil argv (DESIGN.md "Wiring a session" step 5): where `run` is, which
 * options take a value, where the image is, and what `--name` / `--network` it already gives. Pure.
 *
 * Only options before the image belong to docker; everything after the image is the harness's own
 * argv (which may well contain `--name` or `--network` of its own), so the scan must know which
 * docker flags take a value. Flag sets follow `docker run --help` (Docker CLI 20.10–27).
 */
import path from 'node:path';

/** Global docker options (before the subcommand) that take a value. */
const GLOBAL_VALUE_FLAGS = new Set(['--config', '-c', '--context', '-H', '--host', '-l', '--log-level', '--tlscacert', '--tlscert', '--tlskey']);

/** `docker run` long options that take no value (a `=value` may still be attached). */
const RUN_BOOLEAN_LONG = new Set([
  '--detach', '--interactive', '--tty', '--rm', '--privileged', '--init', '--read-only', '--publish-all',
  '--sig-proxy', '--no-healthcheck', '--oom-kill-disable', '--help', '--quiet', '--disable-content-trust',
  '--use-api-socket',
]);
/** `docker run` short options that take no value; they may be clustered (`-it`). */
const RUN_BOOLEAN_SHORT = new Set(['d', 'i', 't', 'P', 'q']);

export interface DockerRunArgv {
  /** Index of the `run` word in the argv. */
  runIndex: number;
  /** Index of the image word, or -1 when the argv names none. */
  imageIndex: number;
  image: string | null;
  /** The `--name` value, or null. */
  name: string | null;
  /** Every `--network` / `--net` value, in order. */
  networks: string[];
  /**
   * The variable names that `-e` / `--env` set, in order (`-e NAME` and `-e NAME=value` alike; the
   * values are not kept). `--env-file` contents are not read.
   */
  envNames: string[];
  /** The `--entrypoint` value, or null when the image's own entrypoint runs. */
  entrypoint: string | null;
  /** `-d` / `--detach` was given: `docker run` returns once the container started. */
  detach: boolean;
  /** The last `-u` / `--user` value as given (`1000`, `1000:1000`, `node`), or null: the image's user. */
  user: string | null;
}

/** True when argv[0] is the docker CLI (`docker`, a path ending in `/docker`, or `docker.exe`). */
export function isDockerCommand(argv0: string | undefined): boolean {
  if (!argv0) return false;
  const base = path.basename(argv0).toLowerCase();
  return base === 'docker' || base === 'docker.exe';
}

/**
 * Parse a `docker [global options] run|container run [options] IMAGE [args…]` argv. Returns null
 * when the argv is not a docker run command.
 */
export function parseDockerRunArgv(argv: readonly string[]): DockerRunArgv | null {
  if (!isDockerCommand(argv[0])) return null;
  let i = 1;
  // Global options up to the subcommand.
  while (i < argv.length) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('-') || arg === '-') break;
    i += GLOBAL_VALUE_FLAGS.has(arg) ? 2 : 1;
  }
  if (argv[i] === 'container') i += 1;
  if (argv[i] !== 'run') return null;
  const runIndex = i;
  let name: string | null = null;
  const networks: string[] = [];
  const envNames: string[] = [];
  let entrypoint: string | null = null;
  let detach = false;
  let user: string | null = null;
  const take = (flag: string, value: string | undefined) => {
    if (value === undefined) return;
    if (flag === '--name') name = value;
    if (flag === '--network' || flag === '--net') networks.push(value);
    if (flag === '--env' || flag === '-e') envNames.push(value.split('=')[0] ?? value);
    if (flag === '--entrypoint') entrypoint = value;
    if (flag === '--user' || flag === '-u') user = value;
  };
  i += 1;
  while (i < argv.length) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      i += 1;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      if (eq >= 0) {
        take(arg.slice(0, eq), arg.slice(eq + 1));
        if (arg.slice(0, eq) === '--detach') detach = !/^(false|0)$/i.test(arg.slice(eq + 1));
        i += 1;
      } else if (RUN_BOOLEAN_LONG.has(arg)) {
        if (arg === '--detach') detach = true;
        i += 1;
      } else {
        take(arg, argv[i + 1]);
        i += 2;
      }
      continue;
    }
    // A short cluster: booleans, possibly ending in one value flag (`-it`, `-e`, `-eFOO=1`).
    let consumed = 1;
    for (let c = 1; c < arg.length; c++) {
      const ch = arg.charAt(c);
      if (ch === 'd') detach = true;
      if (RUN_BOOLEAN_SHORT.has(ch)) continue;
      if (c + 1 >= arg.length) consumed = 2; // value is the next word
      take(`-${ch}`, c + 1 >= arg.length ? argv[i + 1] : arg.slice(c + 1));
      break;
    }
    i += consumed;
  }
  const imageIndex = i < argv.length ? i : -1;
  return { runIndex, imageIndex, image: imageIndex >= 0 ? (argv[imageIndex] ?? null) : null, name, networks, envNames, entrypoint, detach, user };
}

/**
 * `argv` (a `docker … run OPTS IMAGE ARGS`) without the run option `--rm` (also `--rm=true`), and
 * whether it had one. Only docker's own options are looked at, never the image's arguments. Pure.
 * Returns `argv` unchanged (a copy) when it is not a docker run command.
 */
export function withoutRunRm(argv: readonly string[]): { argv: string[]; removed: boolean } {
  const parsed = parseDockerRunArgv(argv);
  if (!parsed) return { argv: [...argv], removed: false };
  const end = parsed.imageIndex < 0 ? argv.length : parsed.imageIndex;
  const out = argv.slice(0, parsed.runIndex + 1);
  let removed = false;
  for (let i = parsed.runIndex + 1; i < end; i++) {
    const arg = argv[i]!;
    if (arg === '--rm' || /^--rm=(true|1)$/i.test(arg)) {
      removed = true;
      continue;
    }
    out.push(arg);
    // A value-taking option's value is copied as is, so a value spelled `--rm` is never dropped.
    if (arg.startsWith('--') && !arg.includes('=') && !RUN_BOOLEAN_LONG.has(arg) && arg !== '--') out.push(argv[++i]!);
    else if (/^-[^-]/.test(arg)) {
      let c = 1;
      while (c < arg.length && RUN_BOOLEAN_SHORT.has(arg.charAt(c))) c++;
      if (c === arg.length - 1) out.push(argv[++i]!); // the cluster ends in a value flag: its value is the next word
    }
  }
  return { argv: [...out, ...argv.slice(end)], removed };
}

/**
 * `argv` (a `docker … run OPTS IMAGE ARGS`) with `options` inserted as the first run options, so
 * they come before the image whatever the user wrote. Pure; a copy of `argv` when it is not a docker
 * run command.
 */
export function withRunOptions(argv: readonly string[], options: readonly string[]): string[] {
  const parsed = parseDockerRunArgv(argv);
  if (!parsed || options.length === 0) return [...argv];
  return [...argv.slice(0, parsed.runIndex + 1), ...options, ...argv.slice(parsed.runIndex + 1)];
}

/** A numeric `docker run -u` value: the uid, and the gid when given (`UID` or `UID:GID`). */
export interface NumericUser {
  uid: number;
  /** null for a bare `-u UID`: the container's gid is then the image's passwd entry's, or 0. */
  gid: number | null;
}

/**
 * The `-u` value as numbers, or null when it is absent or names a user or group (`node`, `1000:staff`):
 * only the image's /etc/passwd could resolve a name. Pure.
 */
export function numericUser(user: string | null): NumericUser | null {
  const m = user === null ? null : /^(\d+)(?::(\d+))?$/.exec(user);
  if (!m) return null;
  return { uid: Number(m[1]), gid: m[2] === undefined ? null : Number(m[2]) };
}
