/**
 * OpenCode: a fragment `{"mcp": {"<name>": {"type": "remote", "url": …, "enabled": true}}}` that the
 * anvil entrypoint merges into opencode.json last; the anvil finds it through `TONGS_MCP_FILE`
 * (DESIGN.md "Wiring a session"). With a bearer token, `oauth: false` stops OpenCode from trying
 * OAuth discovery against the tong.
 *
 * A model tong (dialect anthropic) adds its anthropic provider to the same fragment:
 * `{"provider": {"anthropic": {"options": {"baseURL": "http://<alias>:<port>/v1", "apiKey":
 * "{env:ANTHROPIC_AUTH_TOKEN}"}}}}`. `baseURL` includes `/v1` because OpenCode's Anthropic SDK
 * appends `/messages` to it. The key is an OpenCode substitution, resolved when OpenCode loads its
 * config (verified with OpenCode 1.18.33), so the fragment holds no secret: the anvil entrypoint
 * exports the session bearer from its read-only file as `ANTHROPIC_AUTH_TOKEN`, as it does for Claude
 * Code. Ordinary layers deep-merge, so the user's other provider options stay.
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
  models: {
    anthropic: (endpoint) => ({
      anvilOptions: [],
      config: { provider: { anthropic: { options: { baseURL: `${endpoint.baseUrl}/v1`, apiKey: '{env:ANTHROPIC_AUTH_TOKEN}' } } } },
    }),
  },
};
