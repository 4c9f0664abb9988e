/**
 * The provider registry: which forge serves a tool call (git-provider spec REQ-3 "Resolve the
 * provider via Registry.Resolve()"; issue #15 "Resolution"; DESIGN.md "Git providers"). Pure.
 *
 * - `clone_url` given: its host picks the provider, GitHub's hosts (`servedHosts(GITHUB_API_URL)`)
 *   first, then `GITEA_URL`'s host. Any other host is refused, naming every host served.
 * - `clone_url` absent: GitHub; but Gitea when only Gitea is configured (`GITEA_URL` set and
 *   `GITHUB_TOKEN` empty).
 *
 * A provider without its token is still registered (disabled, spec REQ-1): resolving to it works,
 * and the tool then answers `MissingTokenError` naming that forge's variable.
 */
import { GITEA_LABEL, GITHUB_LABEL, UnresolvedRepositoryError, ValidationError, type ProviderLabel } from './errors.js';
import { parseCloneUrl, servedHosts, type GitProvider, type RepoRef } from './provider.js';

/** One registered forge. */
export interface ProviderEntry {
  kind: 'github' | 'gitea';
  /** Lower-case host names whose clone URLs this entry serves. */
  hosts: string[];
  /** `undefined` when the forge's token is missing (the entry is disabled). */
  provider: GitProvider | undefined;
  /** The forge's name and token variable as known now (Forgejo only after detection). */
  label(): ProviderLabel;
}

/** What `createRegistry` needs. */
export interface RegistryOptions {
  /** `GITHUB_API_URL` (always registered; GitHub is the default forge). */
  githubApiUrl: string;
  /** The GitHub provider, `undefined` without `GITHUB_TOKEN`. */
  github: GitProvider | undefined;
  /** `GITEA_URL`, `undefined` when Gitea is not configured. */
  giteaUrl?: string | undefined;
  /** The Gitea/Forgejo provider, `undefined` without `GITEA_TOKEN`. */
  gitea?: GitProvider | undefined;
}

/** The registry: its entries (GitHub first) and `resolve`. */
export interface Registry {
  entries: ProviderEntry[];
  /** The entry that serves `repo` (see the module comment); throws `UnresolvedRepositoryError` or `ValidationError`. */
  resolve(repo: RepoRef, cloneUrl: string | undefined): ProviderEntry;
  /** The entry used when `clone_url` is absent. */
  readonly fallback: ProviderEntry;
}

/** The host of a Gitea base URL, lower-case. */
export function giteaHosts(giteaUrl: string): string[] {
  return [new URL(giteaUrl).hostname.toLowerCase()];
}

/** Builds the registry. Throws nothing: a URL that cannot be parsed was already refused by `readConfig`. */
export function createRegistry(options: RegistryOptions): Registry {
  const github: ProviderEntry = {
    kind: 'github',
    hosts: servedHosts(options.githubApiUrl),
    provider: options.github,
    label: () => options.github?.label?.() ?? GITHUB_LABEL,
  };
  const entries: ProviderEntry[] = [github];
  let gitea: ProviderEntry | undefined;
  if (options.giteaUrl) {
    // A host GitHub already serves stays GitHub's (checked first in resolve).
    gitea = {
      kind: 'gitea',
      hosts: giteaHosts(options.giteaUrl).filter((h) => !github.hosts.includes(h)),
      provider: options.gitea,
      label: () => options.gitea?.label?.() ?? GITEA_LABEL,
    };
    entries.push(gitea);
  }
  const fallback = gitea && !options.github ? gitea : github;

  return {
    entries,
    fallback,
    resolve(repo, cloneUrl) {
      if (cloneUrl === undefined || cloneUrl.trim() === '') return fallback;
      const full = `${repo.owner}/${repo.name}`;
      const allHosts = entries.flatMap((e) => e.hosts);
      const parsed = parseCloneUrl(cloneUrl.trim());
      if (!parsed) {
        throw new UnresolvedRepositoryError(
          `Cannot resolve a git provider for ${full}: clone_url ${JSON.stringify(cloneUrl)} is not a repository URL like https://${fallback.hosts.at(-1)}/${full}.git.`,
        );
      }
      const entry = entries.find((e) => e.hosts.includes(parsed.host));
      if (!entry) {
        const served = entries.map((e) => `${e.label().name}: ${e.hosts.join(', ')}`).join('; ');
        throw new UnresolvedRepositoryError(
          `Cannot resolve a git provider for ${full} (clone_url ${cloneUrl}): this tong serves only ${allHosts.join(', ')} (${served}), not ${parsed.host}. ` +
            'No request was made. Pull requests for other hosts need another tong.',
        );
      }
      if (parsed.owner.toLowerCase() !== repo.owner.toLowerCase() || parsed.name.toLowerCase() !== repo.name.toLowerCase()) {
        throw new ValidationError(
          `clone_url ${cloneUrl} names ${parsed.owner}/${parsed.name}, but repo_owner/repo_name say ${full}. Pass matching values (or omit clone_url).`,
        );
      }
      return entry;
    },
  };
}

/** `resolve` with only GitHub at `apiUrl` registered; throws as `Registry.resolve` does. */
export function resolveRepository(repo: RepoRef, cloneUrl: string | undefined, apiUrl: string): void {
  createRegistry({ githubApiUrl: apiUrl, github: undefined }).resolve(repo, cloneUrl);
}
