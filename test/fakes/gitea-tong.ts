/**
 * Test harness for the git tong with Gitea/Forgejo (issue #15): the real `createServer` wired to the
 * real providers (gitea-js against `FakeGitea`, and octokit against `FakeGitHub` when one is given),
 * with a real MCP `Client` over `InMemoryTransport`, as `startTong` (github-tong.ts) does for GitHub.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { readConfig } from '../../sidecars/github/src/config.js';
import { createGiteaProvider } from '../../sidecars/github/src/gitea.js';
import { createLogger } from '../../sidecars/github/src/log.js';
import { createOctokitProvider } from '../../sidecars/github/src/provider.js';
import { createServer } from '../../sidecars/github/src/server.js';
import type { FakeGitHub } from './github-api.js';
import type { FakeGitea } from './gitea-api.js';
import type { TongUnderTest } from './github-tong.js';

/** A connected tong over Gitea (and maybe GitHub); `fake` is the Gitea fake. */
export interface GiteaTongUnderTest extends Omit<TongUnderTest, 'fake'> {
  fake: FakeGitea;
}

/**
 * Starts a tong with GITEA_URL/GITEA_TOKEN of `gitea`, and GITHUB_API_URL/GITHUB_TOKEN of `github`
 * when given (otherwise no GitHub token: Gitea is then the only configured forge), TONG_TIER=2 and
 * TONG_PR_ENABLED=true, with `env` on top. Pass `GITEA_TOKEN: ''` to start without a Gitea token.
 */
export async function startGiteaTong(
  gitea: FakeGitea,
  env: Record<string, string | undefined> = {},
  github?: FakeGitHub,
): Promise<GiteaTongUnderTest> {
  const config = readConfig({
    GITEA_URL: gitea.url,
    GITEA_TOKEN: gitea.token,
    ...(github ? { GITHUB_API_URL: github.url, GITHUB_TOKEN: github.token } : {}),
    TONG_TIER: '2',
    TONG_PR_ENABLED: 'true',
    ...env,
  });
  const logs: string[] = [];
  const log = createLogger(config.tongName, [config.token, config.giteaToken, config.mcpToken], (t) => void logs.push(t));
  const provider = config.token
    ? createOctokitProvider({ apiUrl: config.apiUrl, token: config.token, log, writeSpacing: false, retryAfterBaseValue: 10 })
    : undefined;
  const giteaProvider = config.giteaUrl && config.giteaToken ? createGiteaProvider({ url: config.giteaUrl, token: config.giteaToken, log, timeoutMs: 5000 }) : undefined;
  const server = createServer({ config, provider, gitea: giteaProvider, log });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'gitea-tong-test', version: '1.0.0' });
  await client.connect(clientSide);
  return {
    client,
    fake: gitea,
    logs,
    call: async (name, args) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}
