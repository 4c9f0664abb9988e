#!/usr/bin/env node
/**
 * `tongs-egress`: the egress tong, an HTTP(S) forward proxy on 0.0.0.0:$PORT (default 3128) that
 * lets the anvil reach only the hosts on its allowlist (issue #11 item 2; the environment is read by
 * config.ts). A configuration problem (an invalid entry) ends it with status 1 before it listens:
 * it never runs with a list other than the one it was given. SIGTERM/SIGINT: close and exit 0.
 */
import { readEgressConfig } from './config.js';
import { createEgressProxy } from './proxy.js';

const log = (line: string) => void process.stderr.write(`tongs: egress: ${line.replace(/\n/g, '\\n')}\n`);

const config = readEgressConfig(process.env);
if (config.problems.length > 0) {
  for (const p of config.problems) log(p);
  log('not starting: fix the configuration above');
  process.exit(1);
}

const front = createEgressProxy({ entries: config.entries, open: config.open, userFile: config.userFile, files: config.files, log });
front.server.on('error', (err) => {
  log(`cannot serve: ${err.message}`);
  process.exit(1);
});
front.server.listen(config.port, '0.0.0.0', () => {
  const address = front.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const what = config.open
    ? 'egress open: every host and port'
    : config.entries.length === 0
      ? 'allowlist empty: every host refused'
      : `allowing ${config.entries.map((e) => e.text).join(', ')}`;
  log(`listening on 0.0.0.0:${port} (${what})`);
});

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: closing`);
  void front.close().then(() => process.exit(0));
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
