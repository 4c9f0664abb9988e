/**
 * Secret delivery into a tong (issue #6 "Delivery", DESIGN.md "Wiring a session" step 3).
 *
 * The secret environment reaches the tong's main process as ordinary environment variables, yet
 * appears in no `docker inspect` (Env, Cmd, Entrypoint, Labels), no argv on the host and no file
 * outside the tong's own tmpfs, over a channel that works with Docker Desktop and a remote
 * `DOCKER_HOST` (only the engine API is used, never a host path or a container address):
 *
 * 1. The container is created with a tmpfs at {@link SECRET_DIR} and its entrypoint replaced by a
 *    `/bin/sh` wrapper ({@link wrapCommand}); the original entrypoint + command become the wrapper's
 *    arguments. The image needs nothing but `/bin/sh`: the wrapper and the delivery script use only
 *    shell builtins (`sleep`/`rm` are used when present, never required).
 * 2. Once the container runs, the launcher `docker exec -i`s {@link DELIVERY_EXEC_ARGV} with the
 *    payload ({@link encodePayload}) on stdin. The script writes it to `payload` (umask 077), checks it
 *    is complete, then creates the `ready` marker: the wrapper never sees a partial payload.
 * 3. The wrapper waits for `ready`, reads the payload into memory, truncates and removes the file,
 *    evaluates it (each value is one line of single-quoted sh words, so quotes, newlines and `$`
 *    arrive byte-exact), checks the completion marker, and `exec`s the original argv unmodified, keeping
 *    PID 1, the image's user, working directory and plain environment.
 *
 * The tmpfs is mode 1777 (sticky, like /tmp) because its owner cannot be chosen to match an image's
 * named USER from the host; the payload file itself is 0600, owned by the container's user (`docker
 * exec` runs as the container's user by default — do not pass another user), and lives only for the
 * milliseconds between delivery and the wrapper reading it.
 */
import { SecretError } from '../../errors.js';

/** Where the tong's secret tmpfs is mounted. */
export const SECRET_DIR = '/run/tongs-secrets';

/**
 * The tmpfs mount the runtime adds to a tong that receives secrets, in `MountSpec` terms
 * (launcher/shell/engine/runtime.ts): 4 MiB (environment size is bounded by the kernel's argument limit
 * anyway), mode 01777 (see the module comment).
 */
export const SECRET_TMPFS = {
  type: 'tmpfs',
  target: SECRET_DIR,
  sizeBytes: 4 * 1024 * 1024,
  mode: 0o1777,
} as const;

/** Names the wrapper uses for its own shell variables; payload variables may not start with it. */
const RESERVED_PREFIX = '__tongs_';

/** The last payload line; its absence after evaluation means the payload was cut short. */
const COMPLETE_LINE = `${RESERVED_PREFIX}ok=1`;

/**
 * The entrypoint wrapper script for a secret directory `dir` (default {@link SECRET_DIR}; tests use a
 * host temp dir), run as `/bin/sh -c SCRIPT tongs-secrets ORIGINAL_ARGV…`.
 * Exit statuses: 70 incomplete payload; 129/130/143 stopped by HUP/INT/TERM before delivery; otherwise
 * the original process's (it replaces the shell).
 */
export function wrapperScript(dir: string = SECRET_DIR): string {
  return [
  `${RESERVED_PREFIX}d=${shSingleQuote(dir)}`,
  // The shell is PID 1, which ignores signals without a handler: make `docker stop` work while waiting.
  `trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM`,
  // Poll for the marker: fractional sleep where supported, whole seconds otherwise, a bare spin
  // when the image has no sleep at all; back off to 1 s after ~5 s so an orphan stays quiet.
  `if sleep 0.01 2>/dev/null; then ${RESERVED_PREFIX}nap=0.01; else ${RESERVED_PREFIX}nap=1; fi`,
  `${RESERVED_PREFIX}i=0`,
  `until [ -e "$${RESERVED_PREFIX}d/ready" ]; do`,
  `  ${RESERVED_PREFIX}i=$((${RESERVED_PREFIX}i + 1)); [ "$${RESERVED_PREFIX}i" -le 500 ] || ${RESERVED_PREFIX}nap=1`,
  `  sleep "$${RESERVED_PREFIX}nap" 2>/dev/null || :`,
  `done`,
  `${RESERVED_PREFIX}nl='\n'`,
  `${RESERVED_PREFIX}p=`,
  `while IFS= read -r ${RESERVED_PREFIX}l || [ -n "$${RESERVED_PREFIX}l" ]; do ${RESERVED_PREFIX}p=$${RESERVED_PREFIX}p$${RESERVED_PREFIX}l$${RESERVED_PREFIX}nl; done < "$${RESERVED_PREFIX}d/payload"`,
  // Gone from the tmpfs before anything else runs; truncation alone suffices when there is no rm.
  `: > "$${RESERVED_PREFIX}d/payload"`,
  `rm -f "$${RESERVED_PREFIX}d/payload" 2>/dev/null || :`,
  `${RESERVED_PREFIX}ok=`,
  `eval "$${RESERVED_PREFIX}p"`,
  `${RESERVED_PREFIX}p=; ${RESERVED_PREFIX}l=`,
  `if [ "$${RESERVED_PREFIX}ok" != 1 ]; then echo 'tongs: the secret payload was incomplete; not starting' >&2; exit 70; fi`,
  `unset ${RESERVED_PREFIX}p ${RESERVED_PREFIX}l ${RESERVED_PREFIX}ok ${RESERVED_PREFIX}d ${RESERVED_PREFIX}nl ${RESERVED_PREFIX}i ${RESERVED_PREFIX}nap`,
  `trap - HUP INT TERM`,
  `exec "$@"`,
  ].join('\n');
}

/** {@link wrapperScript} for the real tmpfs. */
export const WRAPPER_SCRIPT = wrapperScript();

/**
 * The delivery script for a secret directory `dir` (default {@link SECRET_DIR}), run by
 * `docker exec -i` with the payload on stdin: copies stdin to `payload` (umask 077), checks the
 * completion line, then creates `ready`. Uses shell builtins only.
 * Exit statuses: 3 no writable secret tmpfs; 4 already delivered; 5 payload cut short. It prints no
 * payload bytes, ever.
 */
export function deliveryScript(dir: string = SECRET_DIR): string {
  return [
  `umask 077`,
  `d=${shSingleQuote(dir)}`,
  // Refusals read stdin to its end first, so the launcher's write never fails with a broken pipe.
  `drain() { while IFS= read -r l || [ -n "$l" ]; do l=; done; }`,
  `if [ ! -d "$d" ] || [ ! -w "$d" ]; then drain; echo "tongs: $d is missing or not writable" >&2; exit 3; fi`,
  `if [ -e "$d/ready" ] || [ -e "$d/payload" ]; then drain; echo 'tongs: secrets were already delivered' >&2; exit 4; fi`,
  `last=`,
  // Stop at the completion line rather than EOF: an engine that does not pass on the close of
  // stdin cannot hang the delivery.
  `while IFS= read -r l || [ -n "$l" ]; do printf '%s\\n' "$l"; last=$l; l=; [ "$last" != '${COMPLETE_LINE}' ] || break; done > "$d/payload"`,
  `if [ "$last" != '${COMPLETE_LINE}' ]; then : > "$d/payload"; echo 'tongs: the secret payload was cut short' >&2; exit 5; fi`,
  `: > "$d/ready"`,
  ].join('\n');
}

/** {@link deliveryScript} for the real tmpfs. */
export const DELIVERY_SCRIPT = deliveryScript();

/** The argv of the delivery `docker exec -i` (fixed text: no secret in it). */
export const DELIVERY_EXEC_ARGV: readonly string[] = ['/bin/sh', '-c', DELIVERY_SCRIPT];

/** `$0` of the wrapper shell, so `ps` inside the tong shows what it is while it waits. */
export const WRAPPER_NAME = 'tongs-secrets';

/**
 * The tong's original argv, by Docker's own rules: the definition's `entrypoint` replaces the image's
 * ENTRYPOINT and then also drops the image's CMD; the definition's `command` replaces CMD. An empty
 * list counts as unset, as in the engine's config merge.
 */
export function originalArgv(
  definition: { entrypoint: readonly string[] | null; command: readonly string[] | null },
  image: { entrypoint: readonly string[] | null; command: readonly string[] | null },
): string[] {
  const set = (argv: readonly string[] | null) => (argv && argv.length > 0 ? argv : null);
  const entrypoint = set(definition.entrypoint) ?? set(image.entrypoint) ?? [];
  const command = set(definition.command) ?? (set(definition.entrypoint) ? [] : (set(image.command) ?? []));
  return [...entrypoint, ...command];
}

/**
 * Entrypoint and command for a container whose main process must wait for its secrets:
 * `{entrypoint: ['/bin/sh', '-c', WRAPPER_SCRIPT, 'tongs-secrets'], command: originalArgv}`.
 * The runtime sets both on the container spec (so the image's own ENTRYPOINT/CMD are not appended).
 * @throws SecretError when `originalArgv` is empty (neither the definition nor the image says what to run).
 */
export function wrapCommand(originalArgv: readonly string[]): { entrypoint: string[]; command: string[] } {
  if (originalArgv.length === 0) {
    throw new SecretError('the tong has no entrypoint or command (neither its definition nor its image gives one)');
  }
  return { entrypoint: ['/bin/sh', '-c', WRAPPER_SCRIPT, WRAPPER_NAME], command: [...originalArgv] };
}

/** Variable names the wrapper can export: sh identifiers. */
const SH_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `value` as one single-quoted sh word: `'` becomes `'\''`; every other byte stands for itself. */
export function shSingleQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * `value` as one sh word on one line: single-quoted pieces joined by `"$__tongs_nl"` (a newline the
 * wrapper defines) where the value has a newline. One line per variable means no value line can ever
 * look like the completion line, so the delivery script may stop at it without waiting for EOF.
 */
export function shWordOneLine(value: string): string {
  return value.split('\n').map(shSingleQuote).join(`"$${RESERVED_PREFIX}nl"`);
}

/**
 * The payload: one `export NAME=WORD` line per variable ({@link shWordOneLine}), then the completion
 * line, UTF-8.
 * @throws SecretError for a name that is not an sh identifier or uses the reserved `__tongs_` prefix,
 *   or a value holding a NUL byte (no environment variable can). Messages name the variable, never the value.
 */
export function encodePayload(env: Record<string, string>): Buffer {
  let text = '';
  for (const [name, value] of Object.entries(env)) {
    if (!SH_NAME.test(name) || name.startsWith(RESERVED_PREFIX)) {
      throw new SecretError(
        `cannot deliver secret variable '${name}': names must be letters, digits and _ (not starting with a digit or ${RESERVED_PREFIX})`,
      );
    }
    if (value.includes('\0')) {
      throw new SecretError(`cannot deliver secret variable '${name}': its value contains a NUL byte`);
    }
    text += `export ${name}=${shWordOneLine(value)}\n`;
  }
  return Buffer.from(`${text}${COMPLETE_LINE}\n`, 'utf8');
}

/** Runs `argv` in a container with `stdin` written then closed (`docker exec -i`); `output` is stdout+stderr. */
export type ExecWithStdin = (
  containerId: string,
  argv: string[],
  stdin: Buffer,
) => Promise<{ exitCode: number; output: string }>;

/**
 * Deliver `env` to a running container created with {@link SECRET_TMPFS} and {@link wrapCommand}.
 * `what` names the tong in messages (default: the short container id).
 * @throws SecretError when encoding, the exec, or the delivery script fails; the caller then removes
 *   the container (issue #6: failed delivery removes the container).
 */
export async function deliverSecrets(
  exec: ExecWithStdin,
  containerId: string,
  env: Record<string, string>,
  what = `container ${containerId.slice(0, 12)}`,
): Promise<void> {
  const payload = encodePayload(env);
  let result: { exitCode: number; output: string };
  try {
    result = await exec(containerId, [...DELIVERY_EXEC_ARGV], payload);
  } catch (error) {
    throw new SecretError(`delivering secrets to ${what} failed: ${(error as Error).message}`, { cause: error });
  }
  if (result.exitCode !== 0) {
    const detail = result.output.trim();
    throw new SecretError(
      `delivering secrets to ${what} failed (exit status ${result.exitCode})${detail ? `: ${detail}` : ''}`,
    );
  }
}

/** See launcher/core/github-app.ts: the planner tells the tong this path as `NAME_FILE`. */
export { refreshedSecretPath } from '../../core/github-app.js';

/**
 * The refresh script, run by `docker exec -i` with the new value and a newline on stdin and the
 * variable name as `$1`: writes `refresh-NAME.new` (umask 077) and renames it over `refresh-NAME`
 * when `mv` exists, so a reader sees the old file or the new one, whole; without `mv` it writes in
 * place with one `printf` (a reader that meets a value without its final newline keeps the last one).
 * Exit statuses: 3 no writable secret tmpfs; 5 no value on stdin. It prints no value bytes, ever.
 */
export function refreshScript(dir: string = SECRET_DIR): string {
  return [
    `umask 077`,
    `d=${shSingleQuote(dir)}`,
    `if [ ! -d "$d" ] || [ ! -w "$d" ]; then echo "tongs: $d is missing or not writable" >&2; exit 3; fi`,
    `IFS= read -r v || [ -n "$v" ] || { echo 'tongs: no value on stdin' >&2; exit 5; }`,
    `[ -n "$v" ] || { echo 'tongs: no value on stdin' >&2; exit 5; }`,
    `f="$d/refresh-$1"`,
    `if command -v mv >/dev/null 2>&1; then printf '%s\\n' "$v" > "$f.new" && mv -f "$f.new" "$f"; else printf '%s\\n' "$v" > "$f"; fi`,
  ].join('\n');
}

/**
 * Replace the refreshed value of variable `name` in a running tong (issue #15 item 2: the launcher
 * refreshes a GitHub App token before it expires). The value goes over the exec's stdin, never argv.
 * @throws SecretError for a name that is not an sh identifier, a value with a newline or NUL, or a
 *   failed exec; messages name the variable and the tong, never the value.
 */
export async function deliverRefreshedSecret(
  exec: ExecWithStdin,
  containerId: string,
  name: string,
  value: string,
  what = `container ${containerId.slice(0, 12)}`,
): Promise<void> {
  if (!SH_NAME.test(name)) throw new SecretError(`cannot refresh secret variable '${name}': not an sh identifier`);
  if (/[\n\0]/.test(value) || value === '') throw new SecretError(`cannot refresh secret variable '${name}': the value must be one non-empty line`);
  let result: { exitCode: number; output: string };
  try {
    result = await exec(containerId, ['/bin/sh', '-c', refreshScript(), 'tongs-refresh', name], Buffer.from(`${value}\n`, 'utf8'));
  } catch (error) {
    throw new SecretError(`refreshing ${name} in ${what} failed: ${(error as Error).message}`, { cause: error });
  }
  if (result.exitCode !== 0) {
    const detail = result.output.trim();
    throw new SecretError(`refreshing ${name} in ${what} failed (exit status ${result.exitCode})${detail ? `: ${detail}` : ''}`);
  }
}
