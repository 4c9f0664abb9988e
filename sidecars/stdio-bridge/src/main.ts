#!/usr/bin/env node
/**
 * `tongs-stdio-bridge [--port N] [--path /mcp] -- COMMAND [ARG…]`: the main process of a stdio tong
 * (DESIGN.md "Stdio tongs"). Spawns COMMAND (the tong's `command:`) as its one stdio MCP server and
 * serves it as Streamable HTTP on 0.0.0.0:PORT at PATH. The launcher mounts it into the tong's image
 * (launcher/core/stdio-bridge.ts). Environment: TONGS_MCP_TOKEN (the bearer every request needs),
 * TONGS_ALIASES (names an Origin may carry), TONGS_TONG_NAME (log prefix); everything else,
 * secrets included, is the child's environment. The child that cannot start or initialize ends the
 * bridge with status 1 and the tail of its stderr, so readiness fails with it.
 */
import { parseArgs } from 'node:util';
import { childEnvironment, createStdioBridge } from './bridge.js';

const name = process.env.TONGS_TONG_NAME ?? 'stdio';
const log = (line: string) => process.stderr.write(`tongs-stdio-bridge[${name}]: ${line}\n`);

let parsed;
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    options: { port: { type: 'string', default: process.env.PORT ?? '8080' }, path: { type: 'string', default: '/mcp' } },
    allowPositionals: true,
    strict: true,
  });
} catch (err) {
  log(`${err instanceof Error ? err.message : String(err)}; usage: tongs-stdio-bridge [--port N] [--path /mcp] -- COMMAND [ARG…]`);
  process.exit(2);
}
const command = parsed.positionals;
const port = Number(parsed.values.port);
if (command.length === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
  log('usage: tongs-stdio-bridge [--port N] [--path /mcp] -- COMMAND [ARG…] (the tong definition\'s command: gives COMMAND)');
  process.exit(2);
}

const bridge = createStdioBridge({
  command,
  env: childEnvironment(process.env),
  allowedOriginHosts: (process.env.TONGS_ALIASES ?? '').split(',').filter(Boolean),
  mcpToken: process.env.TONGS_MCP_TOKEN || undefined,
  path: parsed.values.path!,
  log,
});

try {
  await bridge.start();
} catch (err) {
  log(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
bridge.server.on('error', (err) => {
  log(`cannot serve: ${err.message}`);
  process.exit(1);
});
bridge.server.listen(port, '0.0.0.0', () => {
  log(`serving ${JSON.stringify(command.join(' '))} (pid ${bridge.childPid()}) on 0.0.0.0:${port}${parsed.values.path}${process.env.TONGS_MCP_TOKEN ? ', bearer required' : ''}`);
});

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping the stdio server`);
  void bridge.shutdown().then(() => process.exit(0));
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
