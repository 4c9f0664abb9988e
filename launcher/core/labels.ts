/**
 * Docker label keys put on every resource tongs creates. One module, so `ps`, `gc`, teardown and
 * tests agree on them (STYLE.md: testcontainers `utils/labels.ts`).
 */
export const LABEL_PREFIX = 'dev.tongs';
/** Present (value `"true"`) on everything tongs created. */
export const LABEL_MANAGED = `${LABEL_PREFIX}.managed`;
/** The session id that created the resource (a shared tong keeps the id of the session that created it). */
export const LABEL_SESSION = `${LABEL_PREFIX}.session`;
/** `tong`, `anvil` or `network`. */
export const LABEL_ROLE = `${LABEL_PREFIX}.role`;
/** The tong's name (its definition file name). */
export const LABEL_TONG = `${LABEL_PREFIX}.tong`;
/** `session` or `shared`. */
export const LABEL_LIFECYCLE = `${LABEL_PREFIX}.lifecycle`;
/** sha256 (hex, first 16 chars) of the merged definition; a shared tong is reused only while it matches. */
export const LABEL_CONFIG_HASH = `${LABEL_PREFIX}.config-hash`;
/** Comma-separated DNS aliases of the tong. */
export const LABEL_ALIASES = `${LABEL_PREFIX}.aliases`;
/** The pid of the launcher that owns the session, decimal. */
export const LABEL_LAUNCHER_PID = `${LABEL_PREFIX}.launcher.pid`;
/** The hostname of the machine the launcher runs on. */
export const LABEL_LAUNCHER_HOST = `${LABEL_PREFIX}.launcher.host`;
/** Session start, ISO 8601 UTC. */
export const LABEL_STARTED = `${LABEL_PREFIX}.started`;
/**
 * On an anvil image (not a resource tongs creates): its entrypoint has the launch gate (DESIGN.md
 * "Launch order"), so the anvil may start while the tongs start. The value is the gate protocol, `1`:
 * the entrypoint waits, before it runs the harness, for `$TONGS_GATE/state` to hold `go` (run the
 * harness) or `stop` (exit 1 without running it).
 */
export const LABEL_GATE = 'org.tongs.gate';
