/**
 * A harness emitter renders the MCP config for a session's `mcp` tongs in the shape one harness
 * reads, says how the anvil argv points that harness at it (DESIGN.md "Wiring a session" step 5),
 * and points the harness at the session's `model` tongs (DESIGN.md "The seal" rule 4, issue #11).
 * Adding a harness is one new module implementing this interface plus one line in ./index.ts.
 */
import type { ModelDialect } from '../model-dialects.js';

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
   * Where the session bearer is mounted read-only in the anvil. The harness presents it as its
   * placeholder key; it never travels in an argv or a `-e` value (issue #11).
   */
  tokenPath: string;
}

/** How a harness is pointed at one model tong. */
export interface ModelWiring {
  /** `docker run` options for the anvil (inserted right after `run`), e.g. `-e ANTHROPIC_BASE_URL=…`. */
  anvilOptions: string[];
  /**
   * Deep-merged into the harness config file the emitter renders (the one at /run/tongs/mcp.json);
   * absent when the harness needs no file for it.
   */
  config?: Record<string, unknown>;
}

export interface HarnessEmitter {
  /** The `--harness` value. */
  readonly harness: string;
  /** The harness's MCP config document (plain JSON) for `servers`, in the given order. */
  render(servers: readonly McpServerEntry[]): Record<string, unknown>;
  /**
   * `docker run` options the anvil needs to find the config file at `containerPath`, e.g. `-e …`.
   * Used whenever the file is written (mcp tongs, or a model wiring with `config`).
   */
  anvilOptions(containerPath: string): string[];
  /** Harness arguments appended at the very end of the anvil argv when mcp tongs are present. */
  harnessArgs(containerPath: string): string[];
  /** Per model dialect the harness speaks, how to point it at a model tong; a dialect absent here is refused. */
  readonly models: Readonly<Partial<Record<ModelDialect, (endpoint: ModelEndpoint) => ModelWiring>>>;
}
