/**
 * Running the anvil (issue #3 "The anvil", DESIGN.md "Wiring a session" steps 5–6): write the plan's
 * files (the harness MCP config, mode 0600) and run the plan's `docker run …` argv through the docker
 * CLI in the foreground, stdio inherited, so docker owns the TTY and proxies signals.
 *
 * When the argv already names a `--network` (plan.anvilNetworks non-empty), the plan did not add the
 * session network and `docker run` can join only one network at create time on engine API 1.41. Then
 * the same options run as `docker create …` (stdout: the id), the container is connected to the session
 * network, and `docker start --attach [--interactive]` runs it in the foreground: the same TTY, signal
 * proxy and `--rm` semantics as `docker run`.
 *
 * The docker CLI gets the runtime's `dockerCliCommand()` environment (DOCKER_HOST, or DOCKER_CONTEXT
 * for a context), so it talks to the engine the launcher chose (launcher/shell/engine/engine.ts) and never to
 * another one, and the argv as that engine needs it (Podman: see launcher/shell/engine/docker-runtime.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { CommandNotFoundError, DockerError } from '../../errors.js';
import { parseDockerRunArgv, withRunOptions } from '../../core/docker-argv.js';
import { LABEL_ROLE, LABEL_SESSION } from '../../core/labels.js';
import type { LaunchPlan, PlannedFile } from '../../core/plan-types.js';
import { applyEnv } from '../engine/engine.js';
import type { ContainerRuntime } from '../engine/runtime.js';

/** Who owns a planned file on the host, and its mode; null owner: the launcher's user, as written. */
export interface FileHandover {
  owner: { uid: number; gid: number } | null;
  mode: number;
}

/**
 * How a planned file of mode `mode` is handed to an anvil that runs as `anvilUser` (a numeric `-u`;
 * LaunchPlan.anvilUser) when the launcher runs as `launcherUid`. Pure.
 * - No `-u`, or `-u 0`: the file stays the launcher's; the entrypoint runs as root and copies it for
 *   the harness user when they differ (anvil/entrypoint.sh).
 * - A root launcher (`sudo make run_gemini`, a root CI runner): root keeps the file, its group
 *   becomes the anvil's gid and gets the owner's read bit (0600 → 0640). Root, not the anvil's uid,
 *   because Gemini CLI skips a system settings file that is not root's (its
 *   `isFileAndDirectorySecureSync`, 0.61); the mount is read-only either way. With a bare `-u UID`
 *   the gid is the image's passwd entry's, unknown here, so "other" gets the read bit too (0644):
 *   every process in such an anvil runs as that uid, and the session's host temp dir is 0700.
 * - Any other launcher cannot chown: the file is readable in the anvil only when the anvil's uid is
 *   the launcher's (then Gemini still skips its system settings: {@link anvilUserNotes} says so).
 */
export function fileHandover(mode: number, anvilUser: LaunchPlan['anvilUser'], launcherUid: number): FileHandover {
  if (!anvilUser || anvilUser.uid === 0 || launcherUid !== 0) return { owner: null, mode };
  const read = (mode & 0o400) >> 3; // the owner's read bit, as the group's
  return anvilUser.gid === null
    ? { owner: { uid: 0, gid: 0 }, mode: mode | read | (read >> 3) }
    : { owner: { uid: 0, gid: anvilUser.gid }, mode: mode | read };
}

/**
 * Sentences for stderr when the launcher cannot hand its files to an anvil started with `-u` (see
 * {@link fileHandover}): a non-root launcher and another uid, or Gemini CLI, whose system settings
 * must be root's. Empty when there is nothing to say. Pure.
 */
export function anvilUserNotes(plan: Pick<LaunchPlan, 'anvilUser' | 'harness'>, launcherUid: number): string[] {
  const u = plan.anvilUser;
  if (!u || u.uid === 0 || launcherUid === 0) return [];
  if (u.uid !== launcherUid) {
    return [`the anvil runs as uid ${u.uid} (-u) and this launcher as uid ${launcherUid}, which cannot hand its files in /run/tongs to it: the harness cannot read them; run the anvil as uid ${launcherUid}, or without -u`];
  }
  if (plan.harness === 'gemini') {
    return [`with -u and a launcher that is not root, Gemini CLI skips its system settings (they must be root's): the tongs' servers are missing; run the anvil without -u, so its entrypoint hands the settings over as root`];
  }
  return [];
}

/**
 * Write the plan's files, each with its mode (0600 for the MCP config), creating parent dirs (0700);
 * handed to the anvil's `-u` user as {@link fileHandover} says.
 */
export async function writePlanFiles(files: PlannedFile[], anvilUser?: LaunchPlan['anvilUser'], launcherUid = process.getuid?.() ?? -1): Promise<void> {
  // launcherUid -1 (no getuid): never root, so nothing is handed over.
  for (const f of files) {
    const { owner, mode } = fileHandover(f.mode, anvilUser, launcherUid);
    await mkdir(dirname(f.hostPath), { recursive: true, mode: 0o700 });
    await writeFile(f.hostPath, f.content, { mode });
    if (owner) await chown(f.hostPath, owner.uid, owner.gid);
    await chmod(f.hostPath, mode); // writeFile's mode is only used when it creates the file
  }
}

/** `docker run` options that `docker create` refuses or that only make sense for `run`. */
const RUN_ONLY_LONG = new Set(['--detach', '--sig-proxy']);
const BOOLEAN_SHORT = new Set(['d', 'i', 't', 'P', 'q']);

/**
 * Turn a `docker … run OPTS IMAGE ARGS` argv into `docker … create OPTS IMAGE ARGS`, dropping run-only
 * options, and report whether the anvil wants stdin (`-i`/`--interactive`). Pure.
 * @throws DockerError when `argv` is not a docker run command with an image.
 */
export function toCreateArgv(argv: readonly string[]): { createArgv: string[]; interactive: boolean } {
  const parsed = parseDockerRunArgv(argv);
  if (!parsed || parsed.imageIndex < 0) {
    throw new DockerError(`the anvil command is not a \`docker run … IMAGE\`: ${JSON.stringify(argv.slice(0, 3))}`);
  }
  const options = argv.slice(parsed.runIndex + 1, parsed.imageIndex);
  const kept: string[] = [];
  let interactive = false;
  for (let i = 0; i < options.length; i++) {
    const arg = options[i]!;
    if (arg.startsWith('--')) {
      const flag = arg.split('=')[0]!;
      if (flag === '--interactive') interactive = !/=(false|0)$/i.test(arg);
      if (RUN_ONLY_LONG.has(flag)) continue;
      kept.push(arg);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // A short cluster: leading booleans may include i (stdin) and d (run-only, dropped).
      let cluster = '-';
      let c = 1;
      for (; c < arg.length && BOOLEAN_SHORT.has(arg.charAt(c)); c++) {
        const ch = arg.charAt(c);
        if (ch === 'i') interactive = true;
        if (ch !== 'd') cluster += ch;
      }
      const rest = arg.slice(c);
      if (rest) {
        kept.push(cluster + rest);
        if (c + 1 >= arg.length) kept.push(options[++i]!); // a value flag last: its value is the next word
      } else if (cluster !== '-') kept.push(cluster);
      continue;
    }
    kept.push(arg); // a value of the previous long option
  }
  // A long option's value was pushed as-is above; options never end with a dangling value.
  return {
    createArgv: [...argv.slice(0, parsed.runIndex), 'create', ...kept, ...argv.slice(parsed.imageIndex)],
    interactive,
  };
}

/** A running anvil: the docker CLI child in the foreground. */
export interface AnvilHandle {
  /** Resolves with the anvil's exit status; rejects with CommandNotFoundError when docker cannot run. */
  readonly exited: Promise<number>;
  /** Passes a signal to the docker CLI child, which proxies it to the container. */
  kill(signal: NodeJS.Signals): void;
  /** True until the child has exited. */
  running(): boolean;
}

function foreground(command: string, args: string[], env: NodeJS.ProcessEnv): AnvilHandle {
  let child: ChildProcess;
  let done = false;
  const exited = new Promise<number>((resolve, reject) => {
    child = spawn(command, args, { stdio: 'inherit', env });
    child.once('error', (err: NodeJS.ErrnoException) => {
      done = true;
      reject(new CommandNotFoundError(`cannot run ${command}: ${err.code ?? err.message}`, { cause: err }));
    });
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? 128 + (signal ? signalNumber(signal) : 0));
    });
  });
  return {
    exited,
    kill(signal) {
      if (!done) child.kill(signal);
    },
    running: () => !done,
  };
}

/** The number of a signal name (SIGINT → 2). */
export function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}

/** Run `docker …` capturing stdout (stderr inherited). Resolves with status and stdout. */
function capture(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['inherit', 'pipe', 'inherit'], env });
    let stdout = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(new CommandNotFoundError(`cannot run ${command}: ${err.code ?? err.message}`, { cause: err })),
    );
    child.once('close', (code, signal) => resolve({ status: code ?? 128 + (signal ? signalNumber(signal) : 0), stdout }));
  });
}

/**
 * `/etc/hosts` entries (`ALIAS:ADDRESS`, for `docker run --add-host`) for every alias of every started
 * tong, at its address on the session network (its namespace holder's, when it joined one); empty behind the relay (the anvil has no network, and
 * the plan maps the aliases to 127.0.0.x) or with no session network.
 *
 * Why not only the engine's DNS: on Podman (netavark with aardvark-dns 1.4, Debian 12) a container
 * that has just started, or that asks while another container joins or leaves the network, may get
 * no answer for a name aardvark-dns already serves: each change reloads it, and a reload closes and
 * reopens its sockets (containers/podman#13983, containers/aardvark-dns#389). An anvil started after
 * readiness, whose first act is to call its tongs, hit exactly that. An address is fixed for a
 * container's life on a network, so entries written at anvil start stay true for the session.
 * @throws DockerError when a tong cannot be inspected.
 */
export async function tongHostEntries(plan: LaunchPlan, runtime: ContainerRuntime, containers: ReadonlyMap<string, string>): Promise<string[]> {
  const network = plan.network?.name;
  if (plan.relay || !network) return [];
  const entries = await Promise.all(
    plan.tongs.map(async (t) => {
      // A tong in a shared network namespace has the holder's address (launcher/core/netns.ts).
      const id = t.netns ?? containers.get(t.name);
      const address = id ? (await runtime.inspectContainer(id))?.networks[network]?.address : null;
      return address ? [t.alias, ...t.aliases].map((a) => `${a}:${address}`) : [];
    }),
  );
  return entries.flat();
}

/**
 * Start the anvil in the foreground. With no extra anvil network this is `plan.anvilArgv` verbatim
 * (plus `hosts` as `--add-host` options, from {@link tongHostEntries});
 * otherwise create → connect to the session network → start --attach (see the module comment). The
 * docker CLI's own failures (bad option: 125) pass through as the exit status, as with `docker run`.
 * @throws CommandNotFoundError when docker cannot be executed; DockerError when connecting fails.
 */
export async function startAnvil(plan: LaunchPlan, runtime: ContainerRuntime, hosts: readonly string[] = []): Promise<AnvilHandle> {
  // The docker CLI must reach the engine the launcher uses (issue #16): DOCKER_HOST or DOCKER_CONTEXT.
  await runtime.engineInfo();
  const cli = runtime.dockerCliCommand(withRunOptions(plan.anvilArgv, hosts.flatMap((h) => ['--add-host', h])));
  const env = applyEnv(process.env, cli.env);
  const [command, ...args] = cli.argv;
  if (!command) throw new DockerError('the anvil command is empty');
  if (plan.anvilNetworks.length === 0 || !plan.network) return foreground(command, args, env);

  const { createArgv, interactive } = toCreateArgv(cli.argv);
  const created = await capture(command, createArgv.slice(1), env);
  const id = created.stdout.trim().split('\n').pop() ?? '';
  if (created.status !== 0 || !id) {
    const status = created.status || 125;
    return { exited: Promise.resolve(status), kill() {}, running: () => false };
  }
  try {
    await runtime.connectNetwork(plan.network.name, id, []);
  } catch (err) {
    await runtime.removeContainer(id).catch(() => {});
    throw err;
  }
  const globals = createArgv.slice(1, createArgv.indexOf('create'));
  return foreground(command, [...globals, 'start', '--attach', ...(interactive ? ['--interactive'] : []), id], env);
}

/**
 * Stop the session's anvil container(s), found by the labels the plan put in the anvil argv
 * (`dev.tongs.session=<id>`, `dev.tongs.role=anvil`). Used when the anvil ignores a forwarded signal
 * for 10 s (DESIGN.md step 7). Idempotent.
 */
export async function stopAnvil(runtime: ContainerRuntime, sessionId: string, timeoutSec = 2): Promise<void> {
  const anvils = await runtime.listContainers({ [LABEL_SESSION]: sessionId, [LABEL_ROLE]: 'anvil' });
  await Promise.all(anvils.filter((a) => a.state === 'running').map((a) => runtime.stopContainer(a.id, timeoutSec)));
}
