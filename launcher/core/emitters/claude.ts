/**
 * Claude Code: a `--mcp-config` file of `{"mcpServers": {"<name>": {"type": "http", "url": …}}}`
 * (DESIGN.md "Wiring a session"; Claude Code's `--mcp-config` takes a JSON file of mcpServers).
 *
 * A model tong (dialect anthropic): `ANTHROPIC_BASE_URL=http://<alias>:<port>` as a `-e` option (not
 * a secret). The session bearer stays in its read-only file; the anvil entrypoint exports it as
 * `ANTHROPIC_AUTH_TOKEN`, which Claude Code sends as `Authorization: Bearer …` and, unlike
 * `ANTHROPIC_API_KEY`, does not ask the user to approve as a custom API key (issue #11).
 */
import type { HarnessEmitter } from './types.js';

export const claudeEmitter: HarnessEmitter = {
  harness: 'claude',
  render(servers) {
    const mcpServers: Record<string, unknown> = {};
    for (const s of servers) {
      mcpServers[s.name] = {
        type: 'http',
        url: s.url,
        ...(s.bearerToken ? { headers: { Authorization: `Bearer ${s.bearerToken}` } } : {}),
      };
    }
    return { mcpServers };
  },
  anvilOptions: () => [],
  harnessArgs: (containerPath) => ['--mcp-config', containerPath],
  models: {
    anthropic: (endpoint) => ({ anvilOptions: ['-e', `ANTHROPIC_BASE_URL=${endpoint.baseUrl}`] }),
  },
};
