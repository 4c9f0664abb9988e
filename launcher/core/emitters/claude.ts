/**
 * Claude Code: a `--mcp-config` file of `{"mcpServers": {"<name>": {"type": "http", "url": …}}}`
 * (DESIGN.md "Wiring a session"; Claude Code's `--mcp-config` takes a JSON file of mcpServers).
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
};
