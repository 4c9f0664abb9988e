// Bundles the launcher (issue #12 "Fast start-up") with esbuild into dist/bundle/: the entry
// dist/bundle/tongs.cjs (the `tongs` command, from launcher/cli.ts) and the chunks it requires on the
// paths that need them. Usage: node make/bundle.mjs (run by `npm run build` after tsc).
//
// Each launch parses only the code it runs. esbuild splits the launcher into chunks along its lazy
// `import()`s (splitting needs ES module output), then each chunk is turned into CommonJS, whose
// loader starts faster than Node 20's ES module loader, and each `import()` into a `require` on first
// use. The passthrough (no tong defined) loads 40 KB in 5 files; zod and yaml (1 MB of the
// launcher's 1.4 MB) load only when definitions are read. Each module exists once, in one chunk, so
// instanceof and module state hold across chunks.
//
// Measured on Node 20.20, passthrough over `node -e 0`, medians of 60 alternating runs: one
// CommonJS bundle under the V8 code cache (v8-compile-cache, the previous build) +32 ms; the same
// without the cache +29 ms; ES module chunks +29 ms; these CommonJS chunks +22 ms, of which spawning
// the child is 6 ms. The code cache costs the passthrough more to load (crypto, vm, hashing) than it
// saves on 40 KB, so launcher/shell/code-cache.ts turns it on only once a launch has tongs: `tongs
// plan` with one tong is then as fast as under the old bundle (within 3%). A startup snapshot (`node --build-snapshot`) was tried
// and dropped too: a snapshot's main function cannot use dynamic `import()` ("A dynamic import
// callback was not specified"), and it must be named by a node flag, which a `tongs` command on PATH
// cannot pass.
//
// `import.meta.url` becomes the chunk's own file URL; every chunk is in dist/bundle/. Left out of the
// chunks: dockerode (its own file, below), its BuildKit (gRPC) and ssh2 dependencies, required from
// node_modules only when used, and esbuild itself.
import { build, transform } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { mkdir, rm, writeFile } from 'node:fs/promises';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outdir = path.join(root, 'dist/bundle');

const split = await build({
  entryPoints: { tongs: path.join(root, 'launcher/cli.ts') },
  outdir,
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['@grpc/grpc-js', '@grpc/proto-loader', 'ssh2', 'cpu-features', 'esbuild'],
  legalComments: 'none',
  logLevel: 'warning',
  write: false,
});

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
for (const file of split.outputFiles) {
  // Chunks name each other `./chunk-HASH.js`; as CommonJS they are `.cjs` (the package is "type": "module").
  const esm = file.text.replace(/(["'])\.\/(chunk-[A-Z0-9]+)\.js\1/g, '$1./$2.cjs$1');
  const cjs = await transform(esm, {
    loader: 'js',
    format: 'cjs',
    target: 'node20',
    supported: { 'dynamic-import': false },
    define: { 'import.meta.url': '__tongs_chunk_url' },
    banner: "const __tongs_chunk_url = require('node:url').pathToFileURL(__filename).href;",
    legalComments: 'none',
  });
  const entry = path.basename(file.path) === 'tongs.js';
  await writeFile(file.path.replace(/\.js$/, '.cjs'), cjs.code, { mode: entry ? 0o755 : 0o644 });
}

// dockerode and its dependencies (108 modules) as one CommonJS file beside the chunks, which
// launcher/shell/engine/docker-runtime.ts requires when it is there: resolving and reading a tree of
// small files was 15-20 ms of every launch before its first engine call. gRPC (BuildKit) and ssh2
// stay outside, so the runtime can still defer them until they are used.
await build({
  entryPoints: { 'vendor-dockerode': 'dockerode' },
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['@grpc/grpc-js', '@grpc/proto-loader', 'ssh2', 'cpu-features'],
  legalComments: 'none',
  logLevel: 'warning',
});
