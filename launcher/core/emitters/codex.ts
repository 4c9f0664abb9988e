/**
 * Codex CLI (issue #14 item 1): no config file. Each mcp tong is two `-c` overrides at the end of the
 * argv, which Codex reads above every config layer:
 *   -c mcp_servers.<name>.url="http://<alias>:<port><path>"
 *   -c mcp_servers.<name>.bearer_token_env_var="TONGS_MCP_BEARER_<NAME>"
 * The bearer itself is a read-only file, /run/tongs/env/TONGS_MCP_BEARER_<NAME>; the anvil
 * entrypoint exports each file of /run/tongs/env as the variable it is named after, so the bearer is
 * in no argv and no `docker inspect`. Verified with Codex 0.171: `codex mcp list -c …` after the
 * subcommand lists the server with its bearer variable.
 *
 * Codex merges the `-c` tables into a same-named `[mcp_servers.<name>]` of the user's config.toml
 * (a stdio entry would then fail to load, `url is not supported for stdio`); `TONGS_CODEX_MCP` names
 * the tongs' servers, and the entrypoint removes those entries from the anvil's private
 * `$CODEX_HOME/config.toml` first (`tongs-codex-config`), so a tong's entry replaces the user's whole.
 *
 * A model tong (dialect openai, issue #14 item 4): Codex's model provider becomes the tong, by
 * overrides above every config layer (and above a profile's `model_provider`):
 *   -c model_provider="tongs" -c model_providers.tongs.base_url="http://<alias>:<port>/v1"
 *   -c model_providers.tongs.env_key="OPENAI_API_KEY" -c model_providers.tongs.wire_api="responses"
 * The key Codex sends is the session bearer, which the entrypoint exports as `OPENAI_API_KEY` from
 * its read-only file; the tong swaps it for the real key.
 */
import { ANVIL_FILES_DIR, type AnvilOption, type EmittedFile, type HarnessEmitter } from './types.js';

/** The directory of files the entrypoint exports as environment variables, one per file. */
export const ANVIL_ENV_DIR = `${ANVIL_FILES_DIR}/env`;

/** The variable that carries a tong's bearer to Codex, e.g. `TONGS_MCP_BEARER_GITHUB` (upper-cased, non-alphanumerics → `_`). */
export function codexBearerVariable(server: string): string {
  return `TONGS_MCP_BEARER_${server.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** The model provider a model tong becomes in Codex's config. */
export const CODEX_MODEL_PROVIDER = 'tongs';

/** A TOML basic string (JSON's escapes are TOML's for everything a URL or a variable name holds). */
const tomlString = (s: string) => JSON.stringify(s);

export const codexEmitter: HarnessEmitter = {
  harness: 'codex',
  dialects: ['openai'],
  emit({ servers, models }) {
    const files: EmittedFile[] = [];
    const anvil: AnvilOption[] = [];
    const harnessArgs: string[] = [];
    const mcpServers: Record<string, Record<string, string>> = {};
    for (const s of servers) {
      const entry: Record<string, string> = { url: s.url };
      harnessArgs.push('-c', `mcp_servers.${s.name}.url=${tomlString(s.url)}`);
      if (s.bearerToken) {
        const variable = codexBearerVariable(s.name);
        const file = `${ANVIL_ENV_DIR}/${variable}`;
        files.push({ containerPath: file, content: s.bearerToken, mode: 0o600 });
        anvil.push({ mount: file });
        harnessArgs.push('-c', `mcp_servers.${s.name}.bearer_token_env_var=${tomlString(variable)}`);
        entry.bearer_token_env_var = variable;
      }
      mcpServers[s.name] = entry;
    }
    if (servers.length > 0) anvil.push({ env: 'TONGS_CODEX_MCP', value: servers.map((s) => s.name).join(',') });
    for (const m of models) {
      const p = `model_providers.${CODEX_MODEL_PROVIDER}`;
      anvil.push({ mount: m.tokenPath });
      harnessArgs.push(
        '-c', `model_provider=${tomlString(CODEX_MODEL_PROVIDER)}`,
        '-c', `${p}.name=${tomlString(`tongs model tong ${m.tong}`)}`,
        '-c', `${p}.base_url=${tomlString(`${m.baseUrl}/v1`)}`,
        '-c', `${p}.env_key=${tomlString('OPENAI_API_KEY')}`,
        '-c', `${p}.wire_api=${tomlString('responses')}`,
      );
    }
    return { files, anvil, harnessArgs, mcpConfig: servers.length > 0 ? { mcp_servers: mcpServers } : null };
  },
};
