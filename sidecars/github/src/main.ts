#!/usr/bin/env node
/**
 * `tongs-github`: serves the git tong (GitHub, and Gitea/Forgejo when `GITEA_URL` is set; issue #15) over Streamable HTTP on 0.0.0.0:$PORT at /mcp (DESIGN.md
 * "The GitHub tong"). Configured only by environment (see config.ts). SIGTERM/SIGINT: stop
 * accepting, let in-flight calls finish, exit 0.
 */
import { readConfig } from './config.js';
import { createGiteaProvider } from './gitea.js';
import { createHttpServer } from './http.js';
import { startIdleCollector } from './idle-gc.js';
import { createLogger } from './log.js';
import { createOctokitProvider } from './provider.js';
import { createServer, type ServerDeps } from './server.js';
import { createTokenSource } from './token-file.js';

const config = readConfig(process.env);
// Grows when the launcher refreshes the token (GITHUB_TOKEN_FILE, issue #15): every token seen is redacted.
const secrets: Array<string | undefined> = [config.token, config.giteaToken, config.mcpToken];
const log = createLogger(config.tongName, secrets);
for (const w of config.warnings) log(w);
const tokenFile = process.env.GITHUB_TOKEN_FILE?.trim() || undefined;
const token = createTokenSource(config.token, tokenFile, secrets);

const deps: ServerDeps = {
  config,
  secrets,
  provider: config.token ? createOctokitProvider({ apiUrl: config.apiUrl, token: tokenFile ? () => token.current() : config.token, log }) : undefined,
  gitea: config.giteaUrl && config.giteaToken ? createGiteaProvider({ url: config.giteaUrl, token: config.giteaToken, log }) : undefined,
  log,
};
const front = createHttpServer({
  createMcpServer: () => createServer(deps),
  allowedOriginHosts: config.aliases,
  mcpToken: config.mcpToken,
  log,
});

// Present when node runs with --expose-gc, as the image does: give memory back after a burst.
const gc = (globalThis as { gc?: () => void }).gc;
if (gc) startIdleCollector({ activity: front.received, collect: gc });

front.server.on('error', (err) => {
  log(`cannot serve: ${err.message}`);
  process.exit(1);
});
front.server.listen(config.port, '0.0.0.0', () => {
  const address = front.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  log(
    `listening on 0.0.0.0:${port}/mcp (tier ${config.tier}, create_pr ${config.prEnabled ? 'enabled' : 'disabled'}` +
      `${config.dryRun ? ', dry run' : ''}, GitHub ${config.apiUrl}${config.token ? '' : ', NO TOKEN'}` +
      `${config.giteaUrl ? `, Gitea ${config.giteaUrl}${config.giteaToken ? '' : ', NO GITEA TOKEN'}` : ''}` +
      `${config.mcpToken ? ', bearer required' : ''})`,
  );
});

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: finishing ${front.inFlight()} in-flight request(s), then exiting`);
  void front.shutdown().then(() => process.exit(0));
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
