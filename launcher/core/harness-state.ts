/**
 * Private harness state, the pure half (DESIGN.md "The seal", rule 1; issue #10 item 1): which of the
 * user's own settings seed a project's private state, and the `.claude.json` that state starts with.
 * The shell half (launcher/shell/commands/harness-state.ts) copies files and writes the directory.
 *
 * The state lives in `$TONGS_HOME/state/<project-key>/<harness>/` (the key is made by
 * make/anvil-seal.sh) and is mounted where the harness keeps its state; nothing is ever written back
 * to the user's own files, so a hook or command the agent plants there runs only in later anvils of
 * that project.
 */

/** Harnesses that have private state. */
export const STATE_HARNESSES = ['claude', 'codex', 'gemini', 'opencode'] as const;
export type StateHarness = (typeof STATE_HARNESSES)[number];

/** Name of the per-project metadata file in `<state root>/<key>/`. */
export const PROJECT_FILE = 'project.json';

/**
 * What of the user's `~/.claude` (or `$CLAUDE_CONFIG_HOST`) seeds a new state: settings, memory,
 * commands, agents, output styles, skills, keybindings. Not the login (`.credentials.json`, shared
 * only on purpose and then read-only), history, sessions, projects, todos or plugins.
 */
export const CLAUDE_SEED_ENTRIES: readonly string[] = [
  'settings.json',
  'CLAUDE.md',
  'commands',
  'agents',
  'output-styles',
  'skills',
  'keybindings.json',
];

/** What of the user's OpenCode data dir seeds a new state: nothing; its config comes read-only each launch. */
export const OPENCODE_SEED_ENTRIES: readonly string[] = [];

/**
 * What of the user's Codex home (`$CODEX_HOME`, default `~/.codex`) seeds a new state (issue #14):
 * config, instructions, prompts, skills. Not the login (`auth.json`, shared only on purpose and then
 * read-only), history, sessions or logs.
 */
export const CODEX_SEED_ENTRIES: readonly string[] = ['config.toml', 'AGENTS.md', 'prompts', 'skills'];

/**
 * What of the user's `~/.gemini` seeds a new state (issue #14): settings, memory, commands,
 * extensions. Not the login (`oauth_creds.json`, `google_accounts.json`), history or temp files.
 */
export const GEMINI_SEED_ENTRIES: readonly string[] = ['settings.json', 'GEMINI.md', 'commands', 'extensions'];

/** Preferences copied from the user's `~/.claude.json` (no account data, no per-project history). */
export const CLAUDE_GLOBAL_PREFERENCES: readonly string[] = [
  'theme',
  'editorMode',
  'verbose',
  'autoCompactEnabled',
  'preferredNotifChannel',
  'diffTool',
  'autoConnectIde',
  'lastOnboardingVersion',
];

/** The workspace path inside the anvil. */
export const ANVIL_WORKSPACE = '/workspace';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The `.claude.json` a new private Claude Code state starts with: onboarding done (so the harness does
 * not ask each session), the user's display preferences, and for `/workspace` the trust decision the
 * user made for this project on the host, if any.
 *
 * @param userConfig the parsed `~/.claude.json` of the user, or null when absent or unreadable
 * @param hostProject the project's absolute host path (the key of its entry in `projects`)
 */
export function seedClaudeGlobalConfig(userConfig: unknown, hostProject: string): Record<string, unknown> {
  const user = isRecord(userConfig) ? userConfig : {};
  const seeded: Record<string, unknown> = {};
  for (const key of CLAUDE_GLOBAL_PREFERENCES) if (key in user) seeded[key] = user[key];
  seeded.hasCompletedOnboarding = true;
  const projects = isRecord(user.projects) ? user.projects : {};
  const entry = isRecord(projects[hostProject]) ? projects[hostProject] : {};
  seeded.projects = { [ANVIL_WORKSPACE]: { hasTrustDialogAccepted: entry.hasTrustDialogAccepted === true } };
  return seeded;
}
