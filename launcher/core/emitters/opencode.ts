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
import { ANVIL_FILES_DIR, type AnvilOption, type HarnessEmitter } from './types.js';

/** Where the fragment is mounted in the anvil. */
export const OPENCODE_FRAGMENT = `${ANVIL_FILES_DIR}/mcp.json`;

export const opencodeEmitter: HarnessEmitter = {
  harness: 'opencode',
  dialects: ['anthropic'],
  emit({ servers, models }) {
    const document: Record<string, unknown> = {};
    if (servers.length > 0) {
      const mcp: Record<string, unknown> = {};
      for (const s of servers) {
        mcp[s.name] = {
          type: 'remote',
          url: s.url,
          enabled: true,
          ...(s.bearerToken ? { headers: { Authorization: `Bearer ${s.bearerToken}` }, oauth: false } : {}),
        };
      }
      document.mcp = mcp;
    }
    const provider: Record<string, unknown> = {};
    for (const m of models) {
      provider[m.dialect] = { options: { baseURL: `${m.baseUrl}/v1`, apiKey: '{env:ANTHROPIC_AUTH_TOKEN}' } };
    }
    if (models.length > 0) document.provider = provider;
    const anvil: AnvilOption[] = [{ mount: OPENCODE_FRAGMENT }, { env: 'TONGS_MCP_FILE', value: OPENCODE_FRAGMENT }];
    for (const m of models) anvil.push({ mount: m.tokenPath });
    return {
      files: [{ containerPath: OPENCODE_FRAGMENT, content: `${JSON.stringify(document, null, 2)}\n`, mode: 0o600 }],
      anvil,
      harnessArgs: [],
      mcpConfig: servers.length > 0 ? document : null,
    };
  },
};
