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
 */
import { ANVIL_FILES_DIR, type HarnessEmitter } from './types.js';

/** Where the system settings are mounted in the anvil. */
export const GEMINI_SYSTEM_SETTINGS = `${ANVIL_FILES_DIR}/gemini/settings.json`;

export const geminiEmitter: HarnessEmitter = {
  harness: 'gemini',
  dialects: [],
  emit({ servers }) {
    const mcpServers: Record<string, unknown> = {};
    for (const s of servers) {
      mcpServers[s.name] = {
        httpUrl: s.url,
        ...(s.bearerToken ? { headers: { Authorization: `Bearer ${s.bearerToken}` } } : {}),
      };
    }
    const document = { mcpServers };
    return {
      files: [{ containerPath: GEMINI_SYSTEM_SETTINGS, content: `${JSON.stringify(document, null, 2)}\n`, mode: 0o600 }],
      anvil: [{ mount: GEMINI_SYSTEM_SETTINGS }, { env: 'GEMINI_CLI_SYSTEM_SETTINGS_PATH', value: GEMINI_SYSTEM_SETTINGS }],
      harnessArgs: [],
      mcpConfig: servers.length > 0 ? document : null,
    };
  },
};
