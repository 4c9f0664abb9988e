import { build, transform } from 'esbuild';
import { mkdir, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
const out = path.resolve('dist/bundle-s');
await rm(out, { recursive: true, force: true }); await mkdir(out, { recursive: true });
const r = await build({ entryPoints: { tongs: 'launcher/cli.ts' }, outdir: out, chunkNames: 'chunk-[hash]', bundle: true, splitting: true, platform: 'node', format: 'esm', target: 'node20', write: false, logLevel: 'error',
  external: ['@grpc/grpc-js', '@grpc/proto-loader', 'ssh2', 'cpu-features', 'esbuild'] });
for (const f of r.outputFiles) {
  let code = f.text.replace(/(["'])\.\/(chunk-[A-Z0-9]+)\.js\1/g, '$1./$2.cjs$1');
  const t = await transform(code, { format: 'cjs', target: 'node20', supported: { 'dynamic-import': false }, define: { 'import.meta.url': '__tongs_url' },
    banner: "const __tongs_url = require('node:url').pathToFileURL(__filename).href;", loader: 'js' });
  await writeFile(f.path.replace(/\.js$/, '.cjs'), t.code);
}
