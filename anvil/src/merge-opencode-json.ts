#!/usr/bin/env node
/**
 * `tongs-merge-opencode-json DST SRC [--replace-mcp-entries]` — merge the OpenCode config layer SRC
 * into DST in place (issue #4 item 3). Rules: ./opencode-config.ts. The anvil entrypoint calls it once
 * per layer. Exit status: 0 merged; 1 a layer is missing, unreadable or not valid JSON(C) (the message
 * names the file; DST is untouched); 2 usage error.
 */
import { parseArgs } from 'node:util';
import { ConfigLayerError, mergeOpencodeConfigFiles } from './opencode-config.js';

const USAGE = 'usage: tongs-merge-opencode-json DST SRC [--replace-mcp-entries]';

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'replace-mcp-entries': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`tongs: ${(err as Error).message}\ntongs: ${USAGE}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [dst, src, ...extra] = parsed.positionals;
  if (dst === undefined || src === undefined || extra.length > 0) {
    process.stderr.write(`tongs: expected exactly two files, DST and SRC\ntongs: ${USAGE}\n`);
    return 2;
  }
  try {
    await mergeOpencodeConfigFiles(dst, src, { replaceMcpEntries: parsed.values['replace-mcp-entries'] });
    return 0;
  } catch (err) {
    const message = err instanceof ConfigLayerError ? err.message : `${dst}: cannot write: ${(err as Error).message}`;
    process.stderr.write(`tongs: ${message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
