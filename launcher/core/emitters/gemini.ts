/**
 * Gemini CLI (issue #14 item 1): a system settings file, `/run/tongs/gemini/settings.json`, named by
 * `GEMINI_CLI_SYSTEM_SETTINGS_PATH`:
 *   {"mcpServers": {"<name>": {"httpUrl": "http://<alias>:<port><path>", "headers": {"Authorization": "Bearer …"}}}}
 * System settings rank above the user's and the workspace's, and Gemini merges `mcpServers`
 * shallowly (one level), so a tong's entry replaces a same-named entry of theirs whole (verified with
 * Gemini CLI 0.61). The bearer is in that file only (mode 0600), never in an argv or `-e` value.
 *
 * Gemini skips a system settings file that is not root-owned or whose directory (or any parent) is
 * group- or world-writable, and disables every MCP server in an untrusted folder: the anvil
 * entrypoint copies the file into a root-owned directory the harness user can read, and trusts
 * /workspace (the anvil is the sandbox).
 *
 * A model tong (dialect google, issue #14 item 4): `GOOGLE_GEMINI_BASE_URL=http://<alias>:<port>` as
 * a `-e` option and `security.auth.selectedType: "gemini-api-key"` in the system settings, so Gemini
 * uses an API key; the key is the session bearer, which the entrypoint exports as `GEMINI_API_KEY`
 * from its read-only file, and the tong swaps it for the real key.
 */
import { ANVIL_FILES_DIR, type AnvilOption, type HarnessEmitter } from './types.js';

/** Where the system settings are mounted in the anvil. */
export const GEMINI_SYSTEM_SETTINGS = `${ANVIL_FILES_DIR}/gemini/settings.json`;

export const geminiEmitter: HarnessEmitter = {
  harness: 'gemini',
  dialects: ['google'],
  emit({ servers, models }) {
    const mcpServers: Record<string, unknown> = {};
    for (const s of servers) {
      mcpServers[s.name] = {
        httpUrl: s.url,
        ...(s.bearerToken ? { headers: { Authorization: `Bearer ${s.bearerToken}` } } : {}),
      };
    }
    const document: Record<string, unknown> = servers.length > 0 ? { mcpServers } : {};
    const anvil: AnvilOption[] = [{ mount: GEMINI_SYSTEM_SETTINGS }, { env: 'GEMINI_CLI_SYSTEM_SETTINGS_PATH', value: GEMINI_SYSTEM_SETTINGS }];
    for (const m of models) {
      document.security = { auth: { selectedType: 'gemini-api-key' } };
      anvil.push({ mount: m.tokenPath }, { env: 'GOOGLE_GEMINI_BASE_URL', value: m.baseUrl });
    }
    return {
      files: [{ containerPath: GEMINI_SYSTEM_SETTINGS, content: `${JSON.stringify(document, null, 2)}\n`, mode: 0o600 }],
      anvil,
      harnessArgs: [],
      mcpConfig: servers.length > 0 ? { mcpServers } : null,
    };
  },
};
