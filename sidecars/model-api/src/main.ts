#!/usr/bin/env node
/**
 * `tongs-model-api`: the model tong (issue #11 item 1; DESIGN.md "The seal" rule 4). Serves the
 * dialect's model API on 0.0.0.0:$PORT and forwards to the upstream with the real credential.
 * Configured only by environment (see config.ts). SIGTERM/SIGINT: stop accepting, let in-flight
 * answers finish, exit 0.
 */
import { ConfigError, describeUpstream, readConfig, type ModelTongConfig } from './config.js';
import { createLogger } from './log.js';
import { createModelProxy } from './proxy.js';

let config: ModelTongConfig;
try {
  config = readConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`tongs: ${process.env.TONGS_TONG_NAME || 'model-api'}: cannot start: ${err.message}\n`);
  process.exit(1);
}
const log = createLogger(config.tongName, config.secrets);
for (const w of config.warnings) log(w);

const front = createModelProxy({
  dialect: config.dialect,
  upstream: config.upstream,
  credential: config.credential,
  sessionToken: config.sessionToken,
  log,
});
front.server.on('error', (err) => {
  log(`cannot serve: ${err.message}`);
  process.exit(1);
});
front.server.listen(config.port, '0.0.0.0', () => {
  const address = front.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  log(
    `listening on 0.0.0.0:${port} (${config.dialectName}, upstream ${describeUpstream(config.upstream)}, ` +
      `credential ${config.credential ? config.credential.header : 'NONE'}${config.sessionToken ? ', session bearer required' : ''})`,
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
