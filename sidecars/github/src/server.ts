/**
 * `createServer(deps)`: the git tong's MCP server (issues #5 and #15; DESIGN.md "The GitHub tong",
 * "Git providers"; git-provider spec REQ-2..7, 11). Each call is resolved to GitHub, Gitea or
 * Forgejo by the registry (registry.ts); tools, policy and result shapes are the same for each. It
 * registers `list_prs`, `get_pr_status` and, when PR creation is enabled, `create_pr`, each with zod
 * input and output schemas. Results are `structuredContent` plus the same JSON as text; failures are
 * thrown and become `isError: true` results with one sentence from `describeError`, with both tokens
 * (GitHub's and Gitea's) redacted.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { z } from 'zod';
import type { TongConfig } from './config.js';
import { describeError, MissingTokenError, redact, type ErrorContext, type ProviderLabel } from './errors.js';
import { branchName, TIER2_MAX_FILES, validateChange, WORKFLOWS_PATTERNS } from './policy.js';
import type { GitProvider, RepoRef } from './provider.js';
import { createRegistry, type ProviderEntry } from './registry.js';

/** The server's version, reported in the MCP `initialize` answer. */
export const SERVER_VERSION = '0.1.0';

/** What `createServer` needs. Build it once per process; `createServer` is cheap per request. */
export interface ServerDeps {
  /** Policy and identity settings (see `readConfig`). */
  config: Pick<
    TongConfig,
    'token' | 'apiUrl' | 'tier' | 'prEnabled' | 'dryRun' | 'scopeAllow' | 'scopeDeny' | 'branchPrefix' | 'label'
  > &
    Partial<Pick<TongConfig, 'giteaUrl' | 'giteaToken'>>;
  /** The GitHub provider; `undefined` when there is no token (tools then answer `MissingTokenError`). */
  provider: GitProvider | undefined;
  /**
   * The Gitea/Forgejo provider (gitea.ts), served when `config.giteaUrl` is set; `undefined` when
   * there is no `GITEA_TOKEN` (calls resolved to Gitea then answer `MissingTokenError`).
   */
  gitea?: GitProvider | undefined;
  /** One log line to stderr (already prefixed by the caller); default: discard. */
  log?: (line: string) => void;
  /** Clock in ms since the epoch, for rate-limit reset sentences; default `Date.now`. */
  now?: () => number;
  /**
   * Every secret to keep out of results and errors, when it can grow while the server runs (tokens
   * refreshed through `GITHUB_TOKEN_FILE`, token-file.ts); default the config's two tokens.
   */
  secrets?: ReadonlyArray<string | undefined>;
}

// Names GitHub accepts for owners and repositories; '.' and '..' would escape the URL path.
const NAME_RE = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,100}$/;
// A conservative subset of git's ref-name rules (git-check-ref-format).
const REF_RE = /^(?!\/)(?!.*\/\/)(?!.*\.\.)(?!.*@\{)(?!.*\.lock(?:\/|$))[A-Za-z0-9._/-]{1,200}(?<![/.])$/;

const repoShape = {
  repo_owner: z.string().regex(NAME_RE, 'must be a GitHub user or organisation name').describe('Owner of the repository: the user or organisation, e.g. "octo-org".'),
  repo_name: z.string().regex(NAME_RE, 'must be a GitHub repository name').describe('Name of the repository without ".git", e.g. "docs".'),
  clone_url: z
    .string()
    .max(2048)
    .optional()
    .describe(
      'Optional clone URL of the repository (https or ssh form, e.g. from `git remote get-url origin`); its host picks the forge (GitHub, or Gitea/Forgejo when configured) and must be one this tong serves.',
    ),
};

const FileChangeSchema = z.object({
  path: z.string().min(1).max(4096).describe('Path relative to the repository root, with forward slashes, e.g. "docs/setup.md". No leading "/", no "..".'),
  content: z.string().max(1_000_000).optional().describe('The complete new content of the file (not a diff). Required for "create" and "update"; leave out for "delete".'),
  action: z.enum(['create', 'update', 'delete']).describe('"create" a file that does not exist yet, "update" an existing file, or "delete" an existing file.'),
});

const CreatePrInputSchema = z.object({
  ...repoShape,
  title: z.string().min(1).max(256).describe('Pull request title; also the commit message and the source of the branch name.'),
  body: z.string().max(65_536).describe('Pull request description in Markdown: what changes and why.'),
  files: z.array(FileChangeSchema).min(1).max(100).describe('The file changes, committed together as one commit.'),
  base_branch: z.string().regex(REF_RE, 'must be a branch name').optional().describe('Branch to merge into. Default "main".'),
  change_type: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,29}$/, 'must be lower-case letters, digits and hyphens')
    .optional()
    .describe('Kind of change, used in the branch name: e.g. "fix", "feat", "docs", "chore", "check". Default "fix".'),
});

const CreatePrOutputSchema = z.object({
  number: z.number().int().optional().describe('Number of the new pull request (absent in a dry run).'),
  url: z.string().optional().describe('Web URL of the new pull request (absent in a dry run).'),
  branch: z.string().describe('The branch that holds the commit: <prefix>/<change_type>/<slug of the title>.'),
  base_branch: z.string().describe('The branch the pull request targets.'),
  dry_run: z.boolean().describe('true when the tong runs in dry-run mode: everything was validated, nothing was written.'),
  files: z.array(z.object({ path: z.string(), action: z.enum(['create', 'update', 'delete']) })).describe('The normalised file changes.'),
  warnings: z.array(z.string()).optional().describe('Problems after the pull request was created, e.g. the label could not be added.'),
});

const ListPrsInputSchema = z.object(repoShape);

const ListPrsOutputSchema = z.object({
  prs: z
    .array(
      z.object({
        number: z.number().int(),
        title: z.string(),
        files: z.array(z.string()).describe('Paths the pull request changes.'),
      }),
    )
    .describe('Open pull requests that carry this tong\'s label; empty when there are none.'),
});

const GetPrStatusInputSchema = z.object({
  ...repoShape,
  pr_number: z.number().int().positive().describe('The pull request number, e.g. 42.'),
});

const GetPrStatusOutputSchema = z.object({
  number: z.number().int(),
  state: z.enum(['open', 'closed', 'merged']).describe('"merged" when merged; "closed" when closed without merging.'),
  mergeable: z.boolean().nullable().describe('Whether the forge can merge it without conflicts; null while GitHub is still computing that (Gitea and Forgejo always answer true or false).'),
  reviews: z
    .array(
      z.object({
        author: z.string(),
        state: z.string().describe('Lower-case review state: approved, changes_requested, commented, dismissed or pending.'),
        body: z.string(),
      }),
    )
    .describe('Reviews in the order they were submitted.'),
});

// Built once: the SDK's default is a new Ajv per server, and the HTTP layer makes a server per request.
let sharedValidator: AjvJsonSchemaValidator | undefined;

/**
 * Builds the MCP server. Stateless apart from `deps`, so the HTTP layer makes one per request.
 * Policy (tier, scope, dry run, branch prefix, label) comes only from `deps.config`, never from
 * tool arguments (spec REQ-6).
 */
export function createServer(deps: ServerDeps): McpServer {
  const { config, provider } = deps;
  const log = deps.log ?? (() => {});
  const now = deps.now ?? Date.now;
  sharedValidator ??= new AjvJsonSchemaValidator();
  const server = new McpServer({ name: 'tongs-github', version: SERVER_VERSION }, { jsonSchemaValidator: sharedValidator });

  const registry = createRegistry({ githubApiUrl: config.apiUrl, github: provider, giteaUrl: config.giteaUrl, gitea: deps.gitea });
  const secrets = deps.secrets ?? [config.token, config.giteaToken];
  const apiUrlOf = (entry: ProviderEntry | undefined) => (entry?.kind === 'gitea' ? `${config.giteaUrl}/api/v1` : config.apiUrl);

  /** Runs a tool body; `fn` gets `use(entry)` to record which forge it resolved to, for the error sentence. */
  const run = async <T extends Record<string, unknown>>(
    tool: string,
    ctx: ErrorContext,
    fn: (use: (entry: ProviderEntry) => ProviderEntry) => Promise<T>,
  ): Promise<CallToolResult> => {
    let resolved: ProviderEntry | undefined;
    let out: T;
    try {
      out = await fn((entry) => (resolved = entry));
    } catch (err) {
      const forge: ProviderLabel | undefined = resolved?.label();
      const message = redact(describeError(err, { ...ctx, apiUrl: apiUrlOf(resolved), now: now(), ...(forge ? { provider: forge } : {}) }), secrets);
      log(`${tool}: ${message}`);
      throw new Error(message, { cause: err });
    }
    let text = JSON.stringify(out);
    if (secrets.some((s) => s && text.includes(s))) {
      text = redact(text, secrets);
      out = JSON.parse(text) as T;
    }
    return { content: [{ type: 'text', text }], structuredContent: out };
  };
  const needProvider = (entry: ProviderEntry): GitProvider => {
    if (!entry.provider) throw new MissingTokenError(entry.label());
    return entry.provider;
  };
  // How the tools name what they serve, for the model: "GitHub" or "GitHub or Gitea/Forgejo (git.example.com)".
  const giteaEntry = registry.entries.find((e) => e.kind === 'gitea');
  const githubHosts = registry.entries[0]!.hosts;
  const githubHost = githubHosts.find((h) => !h.startsWith('api.') && !h.startsWith('www.')) ?? githubHosts[0];
  const forges = giteaEntry ? `GitHub (${githubHost}) or Gitea/Forgejo (${giteaEntry.hosts.join(', ') || config.giteaUrl})` : 'GitHub';
  const resolution = giteaEntry
    ? ` clone_url's host picks the forge; without clone_url the repository is on ${registry.fallback.kind === 'gitea' ? 'Gitea/Forgejo' : 'GitHub'}.`
    : '';
  const repoOf = (a: { repo_owner: string; repo_name: string }): RepoRef => ({ owner: a.repo_owner, name: a.repo_name });

  const labelNote = `pull requests labelled '${config.label}'`;

  if (config.prEnabled) {
    const limit =
      config.tier === 1
        ? 'This tong runs at tier 1, so every call is refused; do not call it.'
        : config.tier === 2
          ? `This tong runs at tier 2: at most ${TIER2_MAX_FILES} files per pull request.`
          : 'This tong runs at tier 3: no file limit.';
    const scope = [
      config.scopeAllow.length ? `Only paths matching ${config.scopeAllow.join(', ')} may change.` : '',
      config.scopeDeny.length ? `Paths matching ${config.scopeDeny.join(', ')} are refused.` : '',
      `${WORKFLOWS_PATTERNS.join(', ')} are refused unless the user allowed them explicitly.`,
    ]
      .filter(Boolean)
      .join(' ');
    server.registerTool(
      'create_pr',
      {
        title: giteaEntry ? 'Create a pull request' : 'Create a GitHub pull request',
        description:
          `Propose a change to a ${forges} repository as a pull request.${resolution}` +
          ' All files are committed as ONE commit on a new branch ' +
          `named ${config.branchPrefix}/<change_type>/<slug-of-title>, created from base_branch; the pull request gets the label '${config.label}'. ` +
          'Give each file\'s complete new content, not a diff. You never need a token: this tool holds it. ' +
          `${limit} ${scope} ` +
          (config.dryRun ? 'DRY-RUN MODE: the change is validated but nothing is written; the answer has dry_run: true. ' : '') +
          'Call list_prs first to avoid duplicating an open pull request. Returns {number, url, branch}.',
        inputSchema: CreatePrInputSchema,
        outputSchema: CreatePrOutputSchema,
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
      },
      async (args) => {
        const repo = repoOf(args);
        return run('create_pr', { repo: `${repo.owner}/${repo.name}`, action: 'create the pull request' }, async (use) => {
          // Every check happens before any forge call (issue #5), for every forge alike (issue #15).
          const files = validateChange(args.files, { allow: config.scopeAllow, deny: config.scopeDeny }, config.tier);
          const entry = use(registry.resolve(repo, args.clone_url));
          const base = args.base_branch ?? 'main';
          const branch = branchName(config.branchPrefix, args.change_type ?? 'fix', args.title);
          const summary = files.map((f) => ({ path: f.path, action: f.action }));
          const p = needProvider(entry);
          if (config.dryRun) {
            log(`create_pr: dry run for ${repo.owner}/${repo.name} on ${branch} (${files.length} files, ${entry.label().name}); nothing written`);
            return { branch, base_branch: base, dry_run: true, files: summary };
          }
          const created = await p.createPullRequest(repo, { branch, base, title: args.title, body: args.body, files, label: config.label });
          log(`create_pr: opened ${repo.owner}/${repo.name}#${created.number} from ${branch}${entry.kind === 'github' ? '' : ` on ${entry.label().name}`}`);
          return {
            number: created.number,
            url: created.url,
            branch: created.branch,
            base_branch: base,
            dry_run: false,
            files: summary,
            ...(created.warnings.length ? { warnings: created.warnings } : {}),
          };
        });
      },
    );
  }

  server.registerTool(
    'list_prs',
    {
      title: 'List open tong pull requests',
      description:
        `List the open ${labelNote} in a ${forges} repository (the ones this tool set creates), each with its number, title and the file paths it changes. ` +
        'Use it before create_pr to avoid proposing a change that is already open, and to find PR numbers for get_pr_status. Returns {prs: [...]}, empty when there are none.' +
        resolution,
      inputSchema: ListPrsInputSchema,
      outputSchema: ListPrsOutputSchema,
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    async (args) => {
      const repo = repoOf(args);
      return run('list_prs', { repo: `${repo.owner}/${repo.name}`, action: 'list pull requests' }, async (use) => {
        const entry = use(registry.resolve(repo, args.clone_url));
        const prs = await needProvider(entry).listPullRequests(repo, config.label);
        return { prs };
      });
    },
  );

  server.registerTool(
    'get_pr_status',
    {
      title: 'Get a pull request\'s status',
      description:
        `Get the current status of one pull request in a ${forges} repository: state` +
        ' (open, closed or merged), whether it can be merged ' +
        'without conflicts, and its reviews (author, lower-case state such as approved or changes_requested, and body). Returns {number, state, mergeable, reviews}.' +
        resolution,
      inputSchema: GetPrStatusInputSchema,
      outputSchema: GetPrStatusOutputSchema,
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    async (args) => {
      const repo = repoOf(args);
      return run('get_pr_status', { repo: `${repo.owner}/${repo.name}`, action: `read pull request #${args.pr_number}` }, async (use) => {
        const entry = use(registry.resolve(repo, args.clone_url));
        const status = await needProvider(entry).getPullRequestStatus(repo, args.pr_number);
        return { ...status };
      });
    },
  );

  return server;
}
