/**
 * OpenCode: a fragment `{"mcp": {"<name>": {"type": "remote", "url": …, "enabled": true}}}` that the
 * anvil entrypoint merges into opencode.json last; the anvil finds it through `TONGS_MCP_FILE`
 * (DESIGN.md "Wiring a session"). With a bearer token, `oauth: false` stops OpenCode from trying
 * OAuth discovery against the tong.
 */
import type { HarnessEmitter } from './types.js';

export const opencodeEmitter: HarnessEmitter = {
  harness: 'opencode',
  render(servers) {
    const mcp: Record<string, unknown> = {};
    for (const s of servers) {
      mcp[s.name] = {
        type: 'remote',
        url: s.url,
        enabled: true,
        ...(s.bearerToken ? { headers: { Authorization: `Bearer ${s.bearerToken}` }, oauth: false } : {}),
      };
    }
    return { mcp };
  },
  anvilOptions: (containerPath) => ['-e', `TONGS_MCP_FILE=${containerPath}`],
  harnessArgs: () => [],
};
