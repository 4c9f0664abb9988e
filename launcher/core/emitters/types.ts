/**
 * A harness emitter renders the MCP config for a session's `mcp` tongs in the shape one harness
 * reads, and says how the anvil argv points that harness at it (DESIGN.md "Wiring a session" step 5).
 * Adding a harness is one new module implementing this interface plus one line in ./index.ts.
 */

/** One `mcp` tong as the harness sees it. */
export interface McpServerEntry {
  /** MCP server name (`interface.name`). */
  name: string;
  /** `http://<alias>:<port><path>`. */
  url: string;
  /** Per-session bearer token the tong requires (issue #5), or null: no `headers` are emitted. */
  bearerToken: string | null;
}

export interface HarnessEmitter {
  /** The `--harness` value. */
  readonly harness: string;
  /** The harness's MCP config document (plain JSON) for `servers`, in the given order. */
  render(servers: readonly McpServerEntry[]): Record<string, unknown>;
  /** `docker run` options the anvil needs to find the config at `containerPath`, e.g. `-e …`. */
  anvilOptions(containerPath: string): string[];
  /** Harness arguments appended at the very end of the anvil argv. */
  harnessArgs(containerPath: string): string[];
}
