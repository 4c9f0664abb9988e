/**
 * `tongs new NAME` templates (issue #13 item 3, DESIGN.md "Tong definitions", "Stdio tongs"): the
 * tong definition and the image's build context for a stdio MCP server taken from npm, from PyPI,
 * or from an image that already holds one. Pure: it returns file contents; the shell
 * (launcher/shell/commands/new.ts) installs the npm package, writes the files and validates them.
 *
 * Every image builds `FROM ${BASE_IMAGE}` (`ARG BASE_IMAGE`, as sidecars/*\/Dockerfile and
 * make/base-image.sh): no registry is needed for the npm form, whose dependencies are installed on
 * the host from the lockfile and copied in (containers cannot reach npm; sidecars/postgres-mcp/ does
 * the same). The PyPI form pip-installs the package, so building it needs PyPI and a Python base
 * image; the generated Dockerfile says so.
 */
import path from 'node:path';

/** Where the server comes from, as `tongs new` resolved it. */
export type ScaffoldSource =
  | {
      kind: 'npm';
      /** The package name, e.g. `@modelcontextprotocol/server-everything`. */
      package: string;
      /** The exact version installed (pinned by the lockfile). */
      version: string;
      /** The bin script to run, relative to the package's directory, e.g. `dist/index.js`. */
      bin: string;
    }
  | {
      kind: 'pypi';
      package: string;
      /** `==VERSION` pin, or null for the newest. */
      version: string | null;
      /** The console script pip installs, run as the server (default: the package name). */
      script: string;
    }
  | {
      kind: 'image';
      /** The image that holds the server, used as `BASE_IMAGE`. */
      image: string;
    };

export interface ScaffoldInput {
  /** The tong name (a DNS label): the file `NAME.yaml` and the MCP server name. */
  name: string;
  source: ScaffoldSource;
  /** The image tag the definition names (default {@link defaultTongImage}). */
  image: string;
  /**
   * npm, pypi: extra arguments after the server's own command (e.g. `stdio`). image: the server's
   * whole argv in the image (required: the definition's `command:`).
   */
  args: readonly string[];
}

/** One file to write, relative to the layer directory. */
export interface ScaffoldFile {
  path: string;
  content: string;
}

export interface Scaffold {
  /** `NAME.yaml`, relative to the layer directory. */
  definitionPath: string;
  /** `NAME/`, the build context (the definition's `build: ./NAME`). */
  contextDir: string;
  /** Every file, the definition first. For npm, `npm ci` adds node_modules/ and the lockfile. */
  files: ScaffoldFile[];
}

/** Where an installed npm package lives inside the image. */
export const SCAFFOLD_APP_DIR = '/app';

/** `tongs-NAME:local`, the tag `tongs new` gives a tong's image unless told otherwise. */
export function defaultTongImage(name: string): string {
  return `tongs-${name}:local`;
}

/** The `package.json` of an npm tong's build context before `npm install --save-exact PKG@SPEC` fills it in. */
export function npmContextPackageJson(name: string): string {
  return `${JSON.stringify(
    {
      name: `tong-${name}`,
      private: true,
      description: `The stdio MCP server of the tong '${name}' (installed on the host by npm ci, copied into its image)`,
    },
    null,
    2,
  )}\n`;
}

/** A flow sequence of YAML (JSON strings are valid YAML scalars, so every element is quoted safely). */
function flow(argv: readonly string[]): string {
  return `[${argv.map((a) => JSON.stringify(a)).join(', ')}]`;
}

/** The server's argv inside the image. */
export function serverCommand(input: Pick<ScaffoldInput, 'source' | 'args'>): string[] {
  const { source, args } = input;
  switch (source.kind) {
    case 'npm':
      return ['node', path.posix.join(SCAFFOLD_APP_DIR, 'node_modules', source.package, source.bin), ...args];
    case 'pypi':
      return [source.script, ...args];
    case 'image':
      return [...args];
  }
}

function describe(source: ScaffoldSource): string {
  switch (source.kind) {
    case 'npm':
      return `the npm package ${source.package}@${source.version}`;
    case 'pypi':
      return `the PyPI package ${source.package}${source.version ? `==${source.version}` : ''}`;
    case 'image':
      return `the image ${source.image}`;
  }
}

function definition(input: ScaffoldInput, contextDir: string): string {
  const { name, source } = input;
  const command = serverCommand(input);
  // npm: the image has node (tongs-base:local). pypi: a Python image has none, so the host's runtime
  // bridges it. image: unknown, so the launcher picks (host when it has one, else the image's node).
  const node = source.kind === 'npm' ? '\n  node: image' : source.kind === 'pypi' ? '\n  node: host' : '';
  const build =
    source.kind === 'pypi'
      ? `build: ./${contextDir}  # built when the image is absent; needs PyPI and a Python base image (see the Dockerfile)`
      : `build: ./${contextDir}  # built when the image is absent (never pulled)`;
  return `# The tong '${name}': ${describe(source)}, a stdio MCP server behind the tongs bridge
# (DESIGN.md "Stdio tongs"). Scaffolded by \`tongs new\`; edit freely, then \`tongs validate\`.
# Its image is built from ./${contextDir}/Dockerfile.
description: ${JSON.stringify(`${describe(source)} (stdio MCP server)`)}
lifecycle: session
image: ${input.image}
${build}
# env:                             # what the server reads; secrets are resolved on the host
#   API_TOKEN: \${secret:env:MY_API_TOKEN}
# egress: true                     # the server calls a web API: without it the tong reaches only
#                                  # the other tongs (the session network is internal behind the relay)
interface:
  kind: mcp
  transport: stdio${node}
  name: ${name}
  port: 8080
command: ${flow(command)}
readiness:
  mode: mcp
  timeout: 60s
resources:
  memory: 256m
`;
}

function dockerfile(input: ScaffoldInput): string {
  const { name, source } = input;
  const cmd = JSON.stringify(serverCommand(input));
  switch (source.kind) {
    case 'npm':
      return `# The tong '${name}': ${describe(source)}, a stdio MCP server (scaffolded by \`tongs new\`).
# node_modules/ was installed on the host from package-lock.json, so the build needs no network and
# no registry (build with --network none). To reinstall it: npm ci --omit=dev --ignore-scripts
# The tongs stdio bridge is mounted at run time and runs with this image's node (interface.node: image).
ARG BASE_IMAGE=tongs-base:local
FROM \${BASE_IMAGE}
ENV NODE_ENV=production
WORKDIR ${SCAFFOLD_APP_DIR}
COPY --chown=0:0 package.json package-lock.json ${SCAFFOLD_APP_DIR}/
COPY --chown=0:0 node_modules/ ${SCAFFOLD_APP_DIR}/node_modules/
USER 65534:65534
CMD ${cmd}
`;
    case 'pypi': {
      const requirement = `${source.package}${source.version ? `==${source.version}` : ''}`;
      return `# The tong '${name}': ${describe(source)}, a stdio MCP server (scaffolded by \`tongs new\`).
# Building this image needs network access: pip installs the package from PyPI (or the index that
# PIP_INDEX_URL names), and the default base image comes from a registry. Where neither is
# reachable, build it on a machine that reaches them and move it here (docker save | docker load),
# or pass --build-arg BASE_IMAGE=<an image with python3 and pip> --build-arg PIP_INDEX_URL=<a mirror>.
# The image has no node: the tongs bridge runs with the host's Node runtime (interface.node: host).
# If the package's console script is not named ${source.script}, fix CMD and the definition's command:.
ARG BASE_IMAGE=python:3.12-slim
FROM \${BASE_IMAGE}
ARG PIP_INDEX_URL
RUN pip install --no-cache-dir ${JSON.stringify(requirement)}
USER 65534:65534
CMD ${cmd}
`;
    }
    case 'image':
      return `# The tong '${name}': ${describe(source)}, which holds a stdio MCP server (scaffolded by \`tongs new\`).
# Add what the server needs below; the tongs stdio bridge is mounted at run time, so the image
# needs nothing of tongs. The server's argv is the definition's command:.
ARG BASE_IMAGE=${source.image}
FROM \${BASE_IMAGE}
CMD ${cmd}
`;
  }
}

/**
 * The files of a scaffolded tong, paths relative to the layer directory: `NAME.yaml` (a stdio `mcp`
 * tong, `readiness: mcp`) and `NAME/` with a Dockerfile taking `ARG BASE_IMAGE` (for npm,
 * `package.json` comes from {@link npmContextPackageJson} and npm).
 * @throws Error for an `image` source without args (the definition needs the server's argv).
 */
export function scaffoldTong(input: ScaffoldInput): Scaffold {
  if (input.source.kind === 'image' && input.args.length === 0) {
    throw new Error(`the server's argv in ${input.source.image} is needed (it becomes command:)`);
  }
  const contextDir = input.name;
  const files: ScaffoldFile[] = [
    { path: `${input.name}.yaml`, content: definition(input, contextDir) },
    { path: `${contextDir}/Dockerfile`, content: dockerfile(input) },
  ];
  // No .dockerignore: the context holds only what `tongs new` and npm wrote, and dockerode (which
  // `build:` uses) applies a negated pattern to absolute paths, so `*` + `!node_modules` empties it.
  return { definitionPath: `${input.name}.yaml`, contextDir, files };
}

/**
 * The bin script of an installed npm package, from its package.json `bin` (npm's rules: a string is
 * the one bin, named after the package; an object maps names to scripts). With several bins, the one
 * named `wanted`, else the one named after the package (scope removed), else the only one.
 * @returns the script path relative to the package directory, or an error sentence.
 */
export function pickNpmBin(
  pkg: { name: string; bin?: unknown },
  wanted?: string,
): { bin: string } | { error: string } {
  const unscoped = pkg.name.replace(/^@[^/]+\//, '');
  const bins: Record<string, string> =
    typeof pkg.bin === 'string' ? { [unscoped]: pkg.bin } : pkg.bin && typeof pkg.bin === 'object' ? (pkg.bin as Record<string, string>) : {};
  const names = Object.keys(bins).filter((k) => typeof bins[k] === 'string' && bins[k] !== '');
  if (names.length === 0) {
    return { error: `the npm package ${pkg.name} has no bin, so it has no server to run; use --image with an image and the server's argv after --` };
  }
  const chosen = wanted !== undefined ? (names.includes(wanted) ? wanted : undefined) : names.includes(unscoped) ? unscoped : names.length === 1 ? names[0] : undefined;
  if (chosen === undefined) {
    return {
      error: `${wanted !== undefined ? `the npm package ${pkg.name} has no bin '${wanted}'` : `the npm package ${pkg.name} has several bins`}; choose one with --bin: ${names.join(', ')}`,
    };
  }
  return { bin: path.posix.normalize(bins[chosen]!).replace(/^\.\//, '') };
}

/**
 * PyPI project names (PEP 508 "Names": ASCII letters and digits, with `.`, `_`, `-` inside) and
 * an optional `==VERSION` pin (PEP 440 versions: letters, digits, `.`, `+`, `!`, `-`, `_`).
 * @returns the name and version, or an error sentence.
 */
export function parsePypiSpec(spec: string): { package: string; version: string | null } | { error: string } {
  const match = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(?:==([A-Za-z0-9.+!_-]+))?$/.exec(spec);
  if (!match) {
    return { error: `'${spec}' is not a PyPI project name with an optional ==VERSION (PEP 508 names: letters, digits, and . _ - inside), e.g. pypi:mcp-server-fetch==2025.4.7` };
  }
  return { package: match[1]!, version: match[2] ?? null };
}

/**
 * Docker image references (the grammar of distribution/reference: lower-case path components
 * separated by `/`, an optional registry host with port first, an optional `:tag` and `@digest`).
 */
const IMAGE_REFERENCE =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$/;

/** True when `ref` is a valid Docker image reference (see IMAGE_REFERENCE). */
export function isImageReference(ref: string): boolean {
  return IMAGE_REFERENCE.test(ref);
}
