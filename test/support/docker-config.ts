/**
 * Docker CLI config dirs for engine-resolver tests (issue #16): `config.json` and a context store laid
 * out as the docker CLI writes it (`contexts/meta/<sha256 of name>/meta.json`,
 * `contexts/tls/<sha256>/docker/*.pem`).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ContextFixture {
  host: string;
  skipTlsVerify?: boolean;
  /**
   * Files for the context's TLS dir: names (`ca.pem`, `cert.pem`, `key.pem`) get placeholder text; a
   * map gives each file's content.
   */
  tls?: string[] | Record<string, string>;
}

/** Write a docker config dir at `dir`: `config` as config.json (a string is written verbatim), plus contexts. */
export function writeDockerConfig(
  dir: string,
  options: { config?: object | string; contexts?: Record<string, ContextFixture> } = {},
): string {
  mkdirSync(dir, { recursive: true });
  if (options.config !== undefined) {
    writeFileSync(join(dir, 'config.json'), typeof options.config === 'string' ? options.config : JSON.stringify(options.config));
  }
  for (const [name, ctx] of Object.entries(options.contexts ?? {})) {
    const hash = createHash('sha256').update(name).digest('hex');
    const meta = join(dir, 'contexts', 'meta', hash);
    mkdirSync(meta, { recursive: true });
    writeFileSync(
      join(meta, 'meta.json'),
      JSON.stringify({
        Name: name,
        Metadata: { Description: `tongs test context ${name}` },
        Endpoints: { docker: { Host: ctx.host, SkipTLSVerify: ctx.skipTlsVerify ?? false } },
      }),
    );
    const files = Array.isArray(ctx.tls)
      ? Object.fromEntries(ctx.tls.map((f) => [f, `-----BEGIN CERTIFICATE-----\n${f}\n-----END CERTIFICATE-----\n`]))
      : (ctx.tls ?? {});
    if (Object.keys(files).length > 0) {
      const tls = join(dir, 'contexts', 'tls', hash, 'docker');
      mkdirSync(tls, { recursive: true });
      for (const [f, content] of Object.entries(files)) writeFileSync(join(tls, f), content);
    }
  }
  return dir;
}
