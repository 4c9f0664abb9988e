/**
 * Test harness for the GitHub tong: the real `createServer` wired to the real octokit provider,
 * pointed at the local GitHub fake, and a real MCP `Client` over `InMemoryTransport`. Write spacing
 * is off and rate-limit waits are scaled to milliseconds, so tests stay fast.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { readConfig } from '../../sidecars/github/src/config.js';
import { createLogger } from '../../sidecars/github/src/log.js';
import { createOctokitProvider, type OctokitProviderOptions } from '../../sidecars/github/src/provider.js';
import { createServer } from '../../sidecars/github/src/server.js';
import { FakeGitHub } from './github-api.js';

/** A connected tong: call tools through `client`; `logs` holds every stderr line the tong wrote. */
export interface TongUnderTest {
  client: Client;
  fake: FakeGitHub;
  logs: string[];
  /** Calls a tool and returns the raw MCP result. */
  call(name: string, args: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** The text of a tool result's first content item. */
export function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first && first.type === 'text' ? first.text : '';
}

/**
 * Starts a tong over `fake` with `env` on top of: GITHUB_API_URL=fake, GITHUB_TOKEN=fake's token,
 * TONG_TIER=2, TONG_PR_ENABLED=true. Pass `GITHUB_TOKEN: ''` to start without a token; `providerOptions`
 * override the provider's (e.g. `requestTimeoutMs`).
 */
export async function startTong(
  fake: FakeGitHub,
  env: Record<string, string | undefined> = {},
  providerOptions: Partial<OctokitProviderOptions> = {},
): Promise<TongUnderTest> {
  const config = readConfig({ GITHUB_API_URL: fake.url, GITHUB_TOKEN: fake.token, TONG_TIER: '2', TONG_PR_ENABLED: 'true', ...env });
  const logs: string[] = [];
  const log = createLogger(config.tongName, [config.token, config.mcpToken], (t) => void logs.push(t));
  const provider = config.token
    ? createOctokitProvider({ apiUrl: config.apiUrl, token: config.token, log, writeSpacing: false, retryAfterBaseValue: 10, ...providerOptions })
    : undefined;
  const server = createServer({ config, provider, log });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'github-tong-test', version: '1.0.0' });
  await client.connect(clientSide);
  return {
    client,
    fake,
    logs,
    call: async (name, args) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}
