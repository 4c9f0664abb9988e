'use strict';
// The GitHub tong image's entry point (issue #12 "Fast start-up"): runs the bundled server,
// /app/tongs-github.cjs, compiled from V8's code cache that the image build wrote beside it
// (tongs-github.cjs.v8-cache). With the cache, V8 deserialises the bytecode of everything the server
// ran while it started instead of compiling it again: 30-35 ms less to `listening`, 20% of the
// process's start here (2026-12-03, 8 alternating runs). The /app directory is read-only to the
// server (nobody), so the cache is made once, at build time, with the same node and the same flags
// as the ENTRYPOINT (V8 refuses a cache made under other flags, and then compiles as usual).
//
// TONGS_WRITE_CODE_CACHE=1 (the Dockerfile's RUN step only): start the server, let it settle for
// 1 s, write the cache after what ran, and exit 0.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const file = path.join(__dirname, 'tongs-github.cjs');
const cacheFile = `${file}.v8-cache`;
const writing = process.env.TONGS_WRITE_CODE_CACHE === '1';
// The bundle as a CommonJS module body; its `#!` line is not JavaScript to vm.
const source = Module.wrap(fs.readFileSync(file, 'utf8').replace(/^#!.*/, ''));
let cachedData;
if (!writing) {
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    // No cache (a build that skipped it): compile as usual.
  }
}
const script = new vm.Script(source, { filename: file, cachedData });
if (cachedData && script.cachedDataRejected) {
  process.stderr.write('tongs: github: the V8 code cache was refused (node or its flags differ from the image build); compiling as usual\n');
}
const mod = new Module(file, module);
mod.filename = file;
mod.loaded = true;
script.runInThisContext()(mod.exports, (id) => mod.require(id), mod, file, __dirname);

if (writing) {
  setTimeout(() => {
    fs.writeFileSync(cacheFile, script.createCachedData());
    process.exit(0);
  }, 1000);
}
