/**
 * The zod schema of one tong definition file (DESIGN.md "Tong definitions", issue #2 item 2).
 *
 * Strict objects everywhere (an unknown key is an error, so typos fail loudly), a discriminated union
 * on `interface.kind`, `.describe()` on every field (it becomes the JSON Schema `description` editors
 * show), and messages that list the accepted forms. No transforms and no defaults here: the schema
 * only says what is valid, so `z.toJSONSchema` renders it faithfully; defaults are applied by
 * `planLaunch` (launcher/core/plan.ts).
 */
import { z } from 'zod';
import { DURATION_FORMS, DURATION_PATTERN, parseDurationMs } from './duration.js';
import { MEMORY_FORMS, MEMORY_PATTERN, MIN_MEMORY_BYTES, parseMemoryBytes } from './memory.js';
import { MODEL_DIALECT_NAMES } from './model-dialects.js';
import { MOUNT_FORMS, MOUNT_PATTERN, parseMountWord } from './mounts.js';
import { STDIO_NODE_MODES } from './stdio-bridge.js';
import { GITHUB_APP_PROVIDER, GITHUB_PERMISSION_LEVELS, GITHUB_PERMISSION_NAME } from './github-app.js';

/** DNS label: lower-case letters, digits, hyphens, 1–63 chars, not starting or ending with a hyphen. */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const DNS_LABEL_RULE =
  'a DNS label: 1–63 lower-case letters, digits and hyphens, not starting or ending with a hyphen';

/** A `hosts:` entry: `NAME:ADDRESS`, the address an IPv4 literal or `host-gateway` (DESIGN.md-style docker --add-host). */
export const HOST_ENTRY = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?:(host-gateway|\d{1,3}(\.\d{1,3}){3})$/;
export const HOST_ENTRY_FORMS = 'NAME:host-gateway or NAME:IPv4-ADDRESS (e.g. "ghe.corp:10.1.2.3")';

/** Environment variable names as a POSIX shell accepts them. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Environment names the launcher sets itself (issue #5: a tong checks Host/Origin against them). */
export const RESERVED_ENV = ['TONGS_TONG_NAME', 'TONGS_ALIASES', 'TONGS_MCP_TOKEN', 'TONGS_MODEL_TOKEN'] as const;

/** The accepted interface kinds, in the order messages list them. */
export const INTERFACE_KINDS = ['mcp', 'model', 'egress', 'port', 'none'] as const;
export const READINESS_MODES = ['tcp', 'mcp', 'healthcheck', 'none'] as const;
export const LIFECYCLES = ['session', 'shared'] as const;
/** How an mcp tong speaks MCP (issue #13): `http` itself, or `stdio` behind the tongs bridge. */
export const MCP_TRANSPORTS = ['http', 'stdio'] as const;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Describe what was received, for "expected X, got Y" messages. */
function received(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'string') return `the string ${JSON.stringify(input)}`;
  return `${typeof input} ${String(input)}`;
}

/** An error function: "required: <what>" when the key is missing, "expected <what>, got …" otherwise. */
function expected(what: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined ? `required: ${what}` : `expected ${what}, got ${received(issue.input)}`;
}

/**
 * `z.strictObject` whose unknown-key message lists the accepted keys. The validator splits the
 * issue into one problem per unknown key, each at the key's own line.
 */
function strict<T extends z.core.$ZodLooseShape>(shape: T, what: string) {
  const accepted = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown key; accepted keys: ${accepted}`;
      return expected(what)(issue);
    },
  });
}

const nonEmptyString = (what: string) => z.string({ error: expected(what) }).min(1, { error: `must not be empty: ${what}` });

const dnsLabel = (what: string) =>
  z.string({ error: expected(`${what}, ${DNS_LABEL_RULE}`) }).regex(DNS_LABEL, {
    error: (issue) => `${what} ${JSON.stringify(issue.input)} is not ${DNS_LABEL_RULE}`,
  });

/** An argv: a list of strings, never a shell string. */
const ArgvSchema = z
  .array(z.string({ error: expected('a string') }), { error: expected('a list of strings (an argv), e.g. ["node", "server.js"]') })
  .min(1, { error: 'must not be empty: give the argv, e.g. ["node", "server.js"]' });

const PortSchema = z
  .number({ error: expected('the port the tong listens on inside its container (1–65535)') })
  .int({ error: 'expected a whole port number 1–65535' })
  .min(1, { error: 'expected a port number 1–65535' })
  .max(65535, { error: 'expected a port number 1–65535' })
  .describe('TCP port the tong listens on inside its container (1–65535).');

const AliasesSchema = z
  .array(dnsLabel('alias'), { error: expected('a list of DNS names, e.g. [gh]') })
  .describe('Extra DNS names for the tong on the session network; they share one namespace with every canonical alias.');

/** `readiness.timeout` and other durations. */
export const DurationSchema = z
  .union(
    [
      z.number(),
      z.string().regex(DURATION_PATTERN, { error: `expected a duration: ${DURATION_FORMS}` }),
    ],
    { error: expected(`a duration: ${DURATION_FORMS}`) },
  )
  .refine((value) => (typeof value === 'string' && !DURATION_PATTERN.test(value)) || parseDurationMs(value) !== null, {
    error: `must be greater than zero (${DURATION_FORMS})`,
  });

export const MemorySchema = z
  .union(
    [
      z.number().int({ error: `expected whole bytes or ${MEMORY_FORMS}` }),
      z.string().regex(MEMORY_PATTERN, { error: `expected ${MEMORY_FORMS}` }),
    ],
    { error: expected(MEMORY_FORMS) },
  )
  .refine((value) => {
    const bytes = parseMemoryBytes(value);
    return bytes === null || bytes >= MIN_MEMORY_BYTES; // a malformed value already has its own message
  }, {
    error: 'Docker needs at least 6m (6 MiB) of memory for a container',
  });

export const McpInterfaceSchema = strict(
  {
    kind: z.literal('mcp').describe('The tong serves MCP over Streamable HTTP; harnesses get it in their MCP config.'),
    port: PortSchema,
    name: dnsLabel('MCP server name')
      .describe('The MCP server name the harness sees, and the tong\'s canonical DNS alias (a DNS label).'),
    path: z
      .string({ error: expected('an endpoint path starting with /, e.g. /mcp') })
      .regex(/^\/[^\s?#]*$/, { error: 'expected an endpoint path starting with /, e.g. /mcp' })
      .optional()
      .describe('HTTP path of the MCP endpoint (default /mcp).'),
    aliases: AliasesSchema.optional(),
    transport: z
      .enum(MCP_TRANSPORTS, { error: expected(`one of ${MCP_TRANSPORTS.join(', ')}`) })
      .optional()
      .describe(
        'http (default): the image serves MCP over Streamable HTTP itself. stdio: the image holds a stdio MCP server, started by the top-level `command:` (its argv in the image); the tongs stdio bridge runs as the main process and serves it as Streamable HTTP on `port` at `path` (DESIGN.md "Stdio tongs").',
      ),
    node: z
      .enum(STDIO_NODE_MODES, { error: expected(`one of ${STDIO_NODE_MODES.join(', ')}`) })
      .optional()
      .describe(
        "transport stdio only: which Node runs the bridge. image: the image's own node (18 or newer; Node servers). host: the launcher's Linux Node runtime, mounted read-only with its libraries (any image of the host's architecture, e.g. Python servers). Absent: host when the launcher has one, else image.",
      ),
  },
  'a mapping',
).describe('An MCP server: `port` and `name` are required; `transport: stdio` with a top-level `command:` bridges a stdio server.');

export const ModelInterfaceSchema = strict(
  {
    kind: z
      .literal('model')
      .describe('The tong holds the harness\'s model API key and forwards its model requests to the upstream API (DESIGN.md "The seal" rule 4); the emitter points the harness at it.'),
    dialect: z
      .enum(MODEL_DIALECT_NAMES, { error: expected(`a model API dialect: ${MODEL_DIALECT_NAMES.join(', ')}`) })
      .describe(`The model API the tong speaks: ${MODEL_DIALECT_NAMES.join(', ')}. At most one model tong per dialect in a session.`),
    port: PortSchema,
    aliases: AliasesSchema.optional(),
  },
  'a mapping',
).describe('A model API proxy: `dialect` and `port` are required; the canonical alias is the tong name.');

export const EgressInterfaceSchema = strict(
  {
    kind: z
      .literal('egress')
      .describe('The tong is an HTTP(S) proxy that lets the anvil reach only the hosts of the egress allowlist (DESIGN.md "The seal" rule 5); the anvil gets HTTPS_PROXY, HTTP_PROXY and NO_PROXY. At most one per session.'),
    port: PortSchema,
    aliases: AliasesSchema.optional(),
  },
  'a mapping',
).describe('An egress proxy: `port` is required; the canonical alias is the tong name.');

export const PortInterfaceSchema = strict(
  {
    kind: z.literal('port').describe('The tong listens on a TCP port; the anvil gets TONGS_<NAME>_HOST/PORT.'),
    port: PortSchema,
    aliases: AliasesSchema.optional(),
  },
  'a mapping',
).describe('A plain TCP service: `port` is required; the canonical alias is the tong name.');

export const NoneInterfaceSchema = strict(
  { kind: z.literal('none').describe('The tong exposes nothing on the network.') },
  'a mapping',
).describe('A tong that listens on nothing.');

export const InterfaceSchema = z
  .discriminatedUnion('kind', [McpInterfaceSchema, ModelInterfaceSchema, EgressInterfaceSchema, PortInterfaceSchema, NoneInterfaceSchema], {
    error: (issue) => {
      if (issue.input === undefined) return `required: kind (${INTERFACE_KINDS.join(' | ')})`;
      if (!isRecord(issue.input)) return `expected a mapping with kind: ${INTERFACE_KINDS.join(' | ')}, got ${received(issue.input)}`;
      return issue.input.kind === undefined
        ? `required: kind (${INTERFACE_KINDS.join(' | ')})`
        : `expected kind ${INTERFACE_KINDS.join(', ')}`;
    },
  })
  .describe('What the tong exposes: kind mcp | model | port | none (default none).');

/**
 * `when`: conditions on the host under which the tong starts at all (issue #11 "No key set"). A tong
 * whose condition fails is left out of the session before any Docker work, and the launch summary
 * says so; the rest of the session starts as usual.
 */
export const WhenSchema = strict(
  {
    env: z
      .array(
        z.string({ error: expected('an environment variable name') }).regex(ENV_NAME, {
          error: 'not an environment variable name (letters, digits and _, not starting with a digit)',
        }),
        { error: expected('a list of host environment variable names, e.g. [ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN]') },
      )
      .min(1, { error: 'must not be empty: name at least one host environment variable' })
      .describe('Start the tong only when at least one of these variables is set to a non-empty value in the launcher\'s environment; otherwise skip it.'),
  },
  'a mapping',
).describe('Conditions on the host for starting this tong; when they fail the tong is skipped and the launch goes on without it.');

export const ReadinessSchema = strict(
  {
    mode: z
      .enum(READINESS_MODES, { error: expected(`one of ${READINESS_MODES.join(', ')}`) })
      .optional()
      .describe('tcp (default for mcp/port): the port accepts a connection; mcp: an MCP initialize succeeds; healthcheck: `command` (or the image HEALTHCHECK) succeeds; none (default for kind none).'),
    command: ArgvSchema.optional().describe('healthcheck mode: argv run inside the tong; exit 0 means ready. Absent: the image HEALTHCHECK.'),
    timeout: DurationSchema.optional().describe(`Give up after this long (${DURATION_FORMS}; default 30s).`),
  },
  'a mapping',
).describe('How the launcher decides the tong is ready before it starts the anvil.');

const EnvValueSchema = z.union([z.string(), z.number(), z.boolean()], {
  error: expected('a string (numbers and booleans are turned into strings)'),
});

/**
 * `github_app`: what the installation tokens of `${secret:github-app:OWNER/REPO}` references in this
 * tong's env may do (issue #15 item 2). The tokens are always limited to that one repository.
 */
export const GitHubAppSchema = strict(
  {
    permissions: z
      .record(
        z.string().regex(GITHUB_PERMISSION_NAME, {
          error: 'expected a GitHub App permission name in lower case, e.g. contents, pull_requests, issues',
        }),
        z.enum(GITHUB_PERMISSION_LEVELS, { error: expected('read, write or admin') }),
        { error: expected('a mapping of GitHub App permission names to read, write or admin, e.g. {contents: write}') },
      )
      .optional()
      .describe(
        'The installation token\'s permissions, as GitHub names them (contents, pull_requests, issues, …: read, write or admin). Replaces the default {contents: write, pull_requests: write, metadata: read} whole; metadata: read is always added. The App must have been granted each one, or the launch fails.',
      ),
  },
  'a mapping',
).describe(
  'Settings of the built-in github-app secret provider (${secret:github-app:OWNER/REPO} or ${secret:github-app:origin}) for this tong.',
);

const fields = {
  description: z.string({ error: expected('a string') }).optional().describe('What the tong is for (shown in summaries).'),
  lifecycle: z
    .enum(LIFECYCLES, { error: expected(`one of ${LIFECYCLES.join(', ')}`) })
    .optional()
    .describe('session (default): one container per session, removed at teardown; shared: one long-lived container reused across sessions.'),
  image: nonEmptyString('the Docker image to run, e.g. tongs-github:local').describe('The Docker image to run (never pulled).'),
  build: nonEmptyString('a build context directory, relative to this file')
    .optional()
    .describe('Build context (relative to this file) used to build `image` when it is absent locally.'),
  env: z
    .record(
      z.string().regex(ENV_NAME),
      EnvValueSchema,
      {
        error: (issue) =>
          issue.code === 'invalid_key'
            ? 'not an environment variable name (letters, digits and _, not starting with a digit)'
            : expected('a mapping of NAME: value')(issue),
      },
    )
    .optional()
    .describe('Environment of the tong. A value holding ${secret:PROVIDER:REF} is resolved on the host and delivered privately; plain values are ordinary environment.'),
  interface: InterfaceSchema.optional(),
  readiness: ReadinessSchema.optional(),
  mounts: z
    .array(
      z.string({ error: expected(MOUNT_FORMS) }).superRefine((word, ctx) => {
        const parsed = parseMountWord(word);
        if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
      }).meta({ pattern: MOUNT_PATTERN }),
      { error: expected(`a list of mount words: ${MOUNT_FORMS}`) },
    )
    .optional()
    .describe(`Mounts, as magic words only: ${MOUNT_FORMS}. Raw host paths are not allowed.`),
  hosts: z
    .array(
      z
        .string({ error: expected(HOST_ENTRY_FORMS) })
        .regex(HOST_ENTRY, { error: (issue) => `host entry ${JSON.stringify(issue.input)} is not ${HOST_ENTRY_FORMS}` }),
      { error: expected(`a list of host entries: ${HOST_ENTRY_FORMS}`) },
    )
    .optional()
    .describe(
      `Extra /etc/hosts entries of the tong (as docker run --add-host), e.g. "host.docker.internal:host-gateway" to reach a service on the host, or "ghe.corp:10.1.2.3" for a name only the host's /etc/hosts knows. Forms: ${HOST_ENTRY_FORMS}. The anvil never gets them; the approval summary lists them.`,
    ),
  egress: z
    .boolean({ error: expected('true or false') })
    .optional()
    .describe(
      'The tong reaches the internet. Behind the relay the session network is internal (DESIGN.md "The seal" rule 5), and only tongs with egress also join an ordinary network. Default: true for model and egress tongs and for tongs with hosts, false otherwise; a server that calls a web API (the GitHub tong, Sentry, Linear) needs true.',
    ),
  resources: strict(
    { memory: MemorySchema.optional().describe(`Memory limit: ${MEMORY_FORMS} (as docker run --memory).`) },
    'a mapping',
  )
    .optional()
    .describe('Resource limits.'),
  entrypoint: ArgvSchema.optional().describe('Overrides the image ENTRYPOINT (an argv).'),
  command: ArgvSchema.optional().describe('Overrides the image CMD (an argv). For interface.transport stdio: the stdio MCP server\'s argv in the image, which the bridge spawns.'),
  when: WhenSchema.optional(),
  github_app: GitHubAppSchema.optional(),
  disable: z
    .boolean({ error: expected('true or false') })
    .optional()
    .describe('true removes a same-named tong defined in a lower layer (and this one).'),
};

/**
 * Cross-field rules, kept beside the schema so every consumer gets them. They also run when other
 * fields already failed (so every problem is reported at once), hence the defensive reading.
 */
function crossFieldRules(def: unknown, ctx: z.core.$RefinementCtx<unknown>): void {
  if (!isRecord(def)) return;
  const iface = isRecord(def.interface) ? def.interface : {};
  const readiness = isRecord(def.readiness) ? def.readiness : {};
  const kind = typeof iface.kind === 'string' ? iface.kind : 'none';
  const mode = readiness.mode;
  if ((mode === 'tcp' || mode === 'mcp') && kind === 'none') {
    ctx.addIssue({ code: 'custom', path: ['readiness', 'mode'], message: `${mode} readiness needs a port; a kind none tong can use healthcheck or none` });
  }
  if (mode === 'mcp' && (kind === 'port' || kind === 'model' || kind === 'egress')) {
    ctx.addIssue({ code: 'custom', path: ['readiness', 'mode'], message: 'mcp readiness needs interface.kind mcp' });
  }
  if (kind === 'mcp' && iface.transport === 'stdio') {
    if (def.command === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['interface', 'transport'],
        message: 'a stdio tong needs command: the stdio server\'s argv in its image, e.g. ["npx", "-y", "@modelcontextprotocol/server-everything", "stdio"]',
      });
    }
    if (def.entrypoint !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['entrypoint'], message: 'not used by a stdio tong: the bridge is its entrypoint; give the server\'s whole argv in command:' });
    }
  } else if (kind === 'mcp' && iface.node !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['interface', 'node'], message: 'only used with transport: stdio' });
  }
  if (readiness.command !== undefined && mode !== 'healthcheck') {
    ctx.addIssue({ code: 'custom', path: ['readiness', 'command'], message: 'only used with mode: healthcheck' });
  }
  if (Array.isArray(iface.aliases)) {
    const seen = new Set<unknown>(kind === 'mcp' ? [iface.name] : []);
    iface.aliases.forEach((alias, i) => {
      if (seen.has(alias)) {
        ctx.addIssue({ code: 'custom', path: ['interface', 'aliases', i], message: `alias '${String(alias)}' is listed twice (or repeats interface.name)` });
      }
      seen.add(alias);
    });
  }
  if (isRecord(def.env)) {
    for (const name of RESERVED_ENV) {
      if (Object.hasOwn(def.env, name)) {
        ctx.addIssue({ code: 'custom', path: ['env', name], message: 'reserved: the launcher sets this variable itself' });
      }
    }
  }
  if (def.lifecycle === 'shared' && isRecord(def.env)) {
    for (const [name, value] of Object.entries(def.env)) {
      if (typeof value === 'string' && value.includes(`\${secret:${GITHUB_APP_PROVIDER}:`)) {
        ctx.addIssue({
          code: 'custom',
          path: ['env', name],
          message: `a shared tong outlives the session, so a ${GITHUB_APP_PROVIDER} token in it could be neither refreshed nor revoked; use lifecycle: session`,
        });
      }
    }
  }
  const targets = new Map<string, number>();
  (Array.isArray(def.mounts) ? def.mounts : []).forEach((word: unknown, i) => {
    if (typeof word !== 'string') return;
    const parsed = parseMountWord(word);
    if ('error' in parsed) return;
    if (parsed.kind === 'workspace' && def.lifecycle === 'shared') {
      ctx.addIssue({
        code: 'custom',
        path: ['mounts', i],
        message: "a shared tong cannot mount the workspace: it outlives the session and would carry one session's workspace into the next (issue #3)",
      });
    }
    const earlier = targets.get(parsed.target);
    if (earlier !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['mounts', i], message: `target ${parsed.target} is already used by mounts[${earlier}]` });
    } else {
      targets.set(parsed.target, i);
    }
  });
}

/** Run the cross-field rules whenever the input is a mapping, even after other failures. */
const ALWAYS_ON_MAPPINGS = { when: (payload: { value: unknown }) => isRecord(payload.value) };

/** A tong definition: one YAML file; the file name (without extension) is the tong's name. */
export const TongDefinitionSchema = strict(fields, 'a mapping of definition fields')
  .superRefine(crossFieldRules, ALWAYS_ON_MAPPINGS)
  .describe('A tong definition (DESIGN.md "Tong definitions"). The file name without .yaml/.yml is the tong name.');
export type TongDefinition = z.infer<typeof TongDefinitionSchema>;

/**
 * A definition whose only purpose is `disable: true`: every other field is optional (but still
 * checked), so a higher layer can switch a tong off with a one-line file.
 */
export const DisabledTongSchema = strict({ ...fields, image: fields.image.optional(), disable: z.literal(true) }, 'a mapping of definition fields')
  .superRefine(crossFieldRules, ALWAYS_ON_MAPPINGS)
  .describe('A definition with disable: true removes the same-named tong of lower layers; other fields are optional.');

/** What one definition file may contain: a full definition or a `disable: true` stub. */
export const TongFileSchema = z
  .union([TongDefinitionSchema, DisabledTongSchema])
  .describe('One tong definition file (DESIGN.md "Tong definitions"). The file name without .yaml/.yml is the tong name, a DNS label.');

/** The JSON Schema of a definition file, as `tongs schema` prints it and schema/ commits it. */
export function tongDefinitionJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(TongFileSchema, { unrepresentable: 'any' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return { $schema, title: 'tongs tong definition', ...rest };
}
