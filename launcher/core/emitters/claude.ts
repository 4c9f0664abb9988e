/**
 * Claude Code: a `--mcp-config` file of `{"mcpServers": {"<name>": {"type": "http", "url": …}}}`
 * (DESIGN.md "Wiring a session"; Claude Code's `--mcp-config` takes a JSON file of mcpServers).
 *
 * A model tong (dialect anthropic): `ANTHROPIC_BASE_URL=http://<alias>:<port>` as a `-e` option (not
 * a secret). The session bearer stays in its read-only file; the anvil entrypoint exports it as
 * `ANTHROPIC_AUTH_TOKEN`, which Claude Code sends as `Authorization: Bearer …` and, unlike
 * `ANTHROPIC_API_KEY`, does not ask the user to approve as a custom API key (issue #11).
 */
import { ANVIL_FILES_DIR, type AnvilOption, type EmittedFile, type HarnessEmitter } from './types.js';

/** Where the MCP config is mounted in the anvil. */
export const CLAUDE_MCP_CONFIG = `${ANVIL_FILES_DIR}/mcp.json`;

export const claudeEmitter: HarnessEmitter = {
  harness: 'claude',
  dialects: ['anthropic'],
  emit({ servers, models }) {
    const files: EmittedFile[] = [];
    const anvil: AnvilOption[] = [];
    const harnessArgs: string[] = [];
    let mcpConfig: Record<string, unknown> | null = null;
    if (servers.length > 0) {
      const mcpServers: Record<string, unknown> = {};
      for (const s of servers) {
        mcpServers[s.name] = {
          type: 'http',
          url: s.url,
          ...(s.bearerToken ? { headers: { Authorization: `Bearer ${s.bearerToken}` } } : {}),
        };
      }
      mcpConfig = { mcpServers };
      files.push({ containerPath: CLAUDE_MCP_CONFIG, content: `${JSON.stringify(mcpConfig, null, 2)}\n`, mode: 0o600 });
      anvil.push({ mount: CLAUDE_MCP_CONFIG });
      harnessArgs.push('--mcp-config', CLAUDE_MCP_CONFIG);
    }
    for (const m of models) anvil.push({ mount: m.tokenPath }, { env: 'ANTHROPIC_BASE_URL', value: m.baseUrl });
    return { files, anvil, harnessArgs, mcpConfig };
  },
};
