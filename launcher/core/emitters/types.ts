/**
 * A harness emitter turns a session's `mcp` and `model` tongs into everything one harness needs to
 * use them (DESIGN.md "Harnesses", "Wiring a session" step 5, "The seal" rule 4; issue #14 item 1):
 * the files to write (mounted read-only under /run/tongs in the anvil), the anvil's `docker run`
 * options (environment, mounts of those files) and the harness arguments. The plan (../plan.ts)
 * knows no harness name and no file name: it writes what the emitter returns, in the order returned.
 * Adding a harness is one new module implementing this interface plus one entry in ./index.ts.
 */
import type { ModelDialect } from '../model-dialects.js';

/** Where every emitted file is mounted in the anvil: `/run/tongs/<relative path>`. */
export const ANVIL_FILES_DIR = '/run/tongs';

/** One `mcp` tong as the harness sees it. */
export interface McpServerEntry {
  /** MCP server name (`interface.name`). */
  name: string;
  /** `http://<alias>:<port><path>`. */
  url: string;
  /** Per-session bearer token the tong requires (issue #5), or null: no `headers` are emitted. */
  bearerToken: string | null;
}

/** One `model` tong as the harness sees it. */
export interface ModelEndpoint {
  /** The tong's name. */
  tong: string;
  dialect: ModelDialect;
  /** `http://<alias>:<port>`, no trailing slash: the API's root, as the host's `ANTHROPIC_BASE_URL` would be. */
  baseUrl: string;
  /**
   * Where the session bearer is mounted read-only in the anvil (the plan writes that file). The
   * harness presents it as its placeholder key; it never travels in an argv or a `-e` value (issue #11).
   * The emitter must mount it (`{ mount: tokenPath }`).
   */
  tokenPath: string;
}

/** What one session gives the emitter. */
export interface EmitterInput {
  /** The session's mcp tongs, in plan order; empty when there is none. */
  servers: readonly McpServerEntry[];
  /** The session's model tongs, one per dialect at most, each of a dialect in the emitter's `dialects`. */
  models: readonly ModelEndpoint[];
}

/** A file the launcher writes in the session's private temp dir and the anvil mounts read-only. */
export interface EmittedFile {
  /** Absolute path under {@link ANVIL_FILES_DIR}; the host file is at the same relative path in the temp dir. */
  containerPath: string;
  content: string;
  /** Permission bits, e.g. 0o600. */
  mode: number;
}

/**
 * One anvil `docker run` option, inserted right after `run` in the order given:
 * `{ env, value }` → `-e ENV=VALUE` (never a secret: `docker inspect` shows it);
 * `{ mount }` → `-v <host file>:<mount>:ro`, the read-only mount of an emitted file or a model token.
 */
export type AnvilOption = { env: string; value: string } | { mount: string };

/** Everything an emitter returns for one session. */
export interface Emission {
  /** Files to write; a secret (a bearer) belongs in a file, never in an env value or an argument. */
  files: EmittedFile[];
  anvil: AnvilOption[];
  /** Harness arguments appended at the very end of the anvil argv. */
  harnessArgs: string[];
  /**
   * The harness's MCP configuration as plain JSON (`tongs plan`'s `mcpConfig`): the config document
   * the harness reads, or what its arguments amount to; null when there is no mcp tong.
   */
  mcpConfig: Record<string, unknown> | null;
}

export interface HarnessEmitter {
  /** The `--harness` value. */
  readonly harness: string;
  /** The model dialects the harness can be pointed at; a model tong of another dialect is refused. */
  readonly dialects: readonly ModelDialect[];
  /** Everything the harness needs for this session; called only when there is an mcp or model tong. */
  emit(input: EmitterInput): Emission;
}
