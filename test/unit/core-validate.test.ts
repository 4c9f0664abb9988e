/**
 * Table-driven validation of tong definitions (issue #2 item 2; STYLE.md "Tests"): each case is a
 * YAML text and the substrings every expected problem line must contain. A case with no expected
 * errors must validate cleanly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateDefinition, validateDefinitions, type DefinitionSource } from '../../launcher/core/validate.js';

interface Case {
  name: string;
  yaml: string;
  /** Each entry: substrings that one problem line must all contain (in order of the problems). */
  errors: string[][];
  /** File name without extension (default `tong`). */
  tong?: string;
}

const MCP = 'image: img\ninterface: {kind: mcp, port: 8080, name: gh}\n';
const MODEL = 'image: tongs-model-api:local\n';

const cases: Case[] = [
  // --- valid definitions ---
  { name: 'minimal: only an image', yaml: 'image: img\n', errors: [] },
  { name: 'full mcp definition', yaml: `${MCP}description: x\nlifecycle: session\nbuild: ./ctx\nenv: {A: b, N: 1, B: true}\nreadiness: {mode: mcp, timeout: 30s}\nmounts: [workspace:ro, "volume:data:/data"]\nresources: {memory: 256m}\nentrypoint: [node]\ncommand: [server.js]\n`, errors: [] },
  { name: 'port tong with extra aliases', yaml: 'image: img\ninterface: {kind: port, port: 5432, aliases: [db, postgres]}\n', errors: [] },
  { name: 'disable stub needs no image', yaml: 'disable: true\n', errors: [] },
  { name: 'healthcheck with command on a none tong', yaml: 'image: img\nreadiness: {mode: healthcheck, command: ["true"], timeout: 2m}\n', errors: [] },
  { name: 'bare number timeout is seconds', yaml: `${MCP}readiness: {timeout: 5}\n`, errors: [] },
  { name: 'memory in bytes', yaml: 'image: img\nresources: {memory: 104857600}\n', errors: [] },

  // --- YAML syntax ---
  { name: 'yaml syntax error has file and line', yaml: 'image: img\nenv: {A: [\n', errors: [['tong.yaml:3:', '(yaml):', 'Flow sequence'], ['tong.yaml:3:', '(yaml):', 'Flow map']] },
  { name: 'duplicate key is a yaml error', yaml: 'image: a\nimage: b\n', errors: [['tong.yaml:2:', '(yaml):', 'unique']] },
  { name: 'empty file', yaml: '', errors: [['tong.yaml:1:', '(root)', 'empty']] },
  { name: 'document that is not a mapping', yaml: '- image\n', errors: [['tong.yaml:1:', '(root)', 'expected a mapping']] },

  // --- top-level fields ---
  { name: 'unknown key points at its own line and lists accepted keys', yaml: 'image: img\nimgae: x\n', errors: [['tong.yaml:2:', 'imgae', 'unknown key', 'accepted keys: description, lifecycle, image']] },
  { name: 'two unknown keys are two problems', yaml: 'image: img\nfoo: 1\nbar: 2\n', errors: [['tong.yaml:2:', 'foo: unknown key'], ['tong.yaml:3:', 'bar: unknown key']] },
  { name: 'missing image', yaml: 'description: x\n', errors: [['image: required', 'Docker image']] },
  { name: 'empty image', yaml: 'image: ""\n', errors: [['image: must not be empty']] },
  { name: 'image of the wrong type', yaml: 'image: 5\n', errors: [['tong.yaml:1:', 'image: expected', 'got number 5']] },
  { name: 'unknown lifecycle', yaml: 'image: img\nlifecycle: forever\n', errors: [['tong.yaml:2:', 'lifecycle: expected one of session, shared']] },
  { name: 'description must be a string', yaml: 'image: img\ndescription: [a]\n', errors: [['description: expected a string, got a list']] },
  { name: 'disable must be boolean', yaml: 'image: img\ndisable: yes please\n', errors: [['disable: expected true or false']] },
  { name: 'file name must be a DNS label', tong: 'My_Tong', yaml: 'image: img\n', errors: [['(file name)', "'My_Tong'", 'DNS label']] },
  { name: 'file name may not start with a hyphen', tong: '-x', yaml: 'image: img\n', errors: [['(file name)', 'DNS label']] },

  // --- interface ---
  { name: 'hosts: a bad entry names the accepted forms', yaml: 'image: img\nhosts: ["ghe.corp:10.1.2.3", "nocolon", "x:localhost"]\n', errors: [['hosts[1]: host entry "nocolon" is not NAME:host-gateway or NAME:IPv4-ADDRESS'], ['hosts[2]: host entry "x:localhost" is not']] },
  { name: 'unknown interface kind lists the kinds', yaml: 'image: img\ninterface: {kind: grpc}\n', errors: [['interface.kind: expected kind mcp, model, egress, port, none']] },
  { name: 'missing interface kind', yaml: 'image: img\ninterface: {port: 1}\n', errors: [['interface.kind: required: kind (mcp | model | egress | port | none)']] },
  { name: 'mcp needs a port', yaml: 'image: img\ninterface: {kind: mcp, name: gh}\n', errors: [['interface.port: required', '1–65535']] },
  { name: 'mcp needs a name', yaml: 'image: img\ninterface:\n  kind: mcp\n  port: 80\n', errors: [['tong.yaml:3:', 'interface.name: required: MCP server name']] },
  { name: 'port out of range', yaml: 'image: img\ninterface: {kind: port, port: 70000}\n', errors: [['interface.port: expected a port number 1–65535']] },
  { name: 'port as a string', yaml: 'image: img\ninterface: {kind: port, port: "80"}\n', errors: [['interface.port: expected', 'got the string "80"']] },
  { name: 'fractional port', yaml: 'image: img\ninterface: {kind: port, port: 80.5}\n', errors: [['interface.port: expected a whole port number']] },
  { name: 'mcp name must be a DNS label', yaml: 'image: img\ninterface: {kind: mcp, port: 80, name: Git_Hub}\n', errors: [['interface.name: MCP server name "Git_Hub" is not a DNS label']] },
  { name: 'alias must be a DNS label', yaml: 'image: img\ninterface: {kind: port, port: 80, aliases: [ok, -bad]}\n', errors: [['interface.aliases[1]: alias "-bad" is not a DNS label']] },
  { name: 'alias longer than 63 characters', yaml: `image: img\ninterface: {kind: port, port: 80, aliases: [${'a'.repeat(64)}]}\n`, errors: [['interface.aliases[0]', 'DNS label']] },
  { name: 'alias repeating the mcp name', yaml: 'image: img\ninterface: {kind: mcp, port: 80, name: gh, aliases: [gh]}\n', errors: [['interface.aliases[0]', "alias 'gh' is listed twice"]] },
  { name: 'mcp path must start with /', yaml: 'image: img\ninterface: {kind: mcp, port: 80, name: gh, path: mcp}\n', errors: [['interface.path: expected an endpoint path starting with /']] },
  { name: 'none kind takes no port', yaml: 'image: img\ninterface: {kind: none, port: 80}\n', errors: [['interface.port: unknown key', 'accepted keys: kind']] },
  { name: 'unknown key inside interface', yaml: 'image: img\ninterface:\n  kind: port\n  port: 80\n  alias: [x]\n', errors: [['tong.yaml:5:', 'interface.alias: unknown key', 'accepted keys: kind, port, aliases']] },

  // --- readiness ---
  { name: 'unknown readiness mode', yaml: `${MCP}readiness: {mode: http}\n`, errors: [['readiness.mode: expected one of tcp, mcp, healthcheck, none']] },
  { name: 'timeout with a bad unit', yaml: `${MCP}readiness: {timeout: 3h}\n`, errors: [['readiness.timeout: expected a duration: 500ms, 30s, 2m or a number of seconds']] },
  { name: 'zero timeout', yaml: `${MCP}readiness: {timeout: 0}\n`, errors: [['readiness.timeout: must be greater than zero']] },
  { name: 'zero timeout as a string', yaml: `${MCP}readiness: {timeout: 0s}\n`, errors: [['readiness.timeout: must be greater than zero']] },
  { name: 'negative timeout', yaml: `${MCP}readiness: {timeout: -5}\n`, errors: [['readiness.timeout: must be greater than zero']] },
  { name: 'tcp readiness on a none tong', yaml: 'image: img\nreadiness: {mode: tcp}\n', errors: [['readiness.mode: tcp readiness needs a port']] },
  { name: 'mcp readiness on a port tong', yaml: 'image: img\ninterface: {kind: port, port: 1}\nreadiness: {mode: mcp}\n', errors: [['readiness.mode: mcp readiness needs interface.kind mcp']] },
  { name: 'command without healthcheck mode', yaml: `${MCP}readiness: {command: ["true"]}\n`, errors: [['readiness.command: only used with mode: healthcheck']] },
  { name: 'healthcheck command as a shell string', yaml: 'image: img\nreadiness: {mode: healthcheck, command: "test -f x"}\n', errors: [['readiness.command: expected a list of strings (an argv)']] },

  // --- env ---
  { name: 'env must be a mapping', yaml: 'image: img\nenv: [A=b]\n', errors: [['env: expected a mapping of NAME: value, got a list']] },
  { name: 'env name must be a variable name', yaml: 'image: img\nenv:\n  OK: 1\n  9LIVES: x\n', errors: [['tong.yaml:4:', 'env.9LIVES: not an environment variable name']] },
  { name: 'env value must be a scalar', yaml: 'image: img\nenv: {A: {b: c}}\n', errors: [['env.A: expected a string', 'got a mapping']] },
  { name: 'reserved env names', yaml: 'image: img\nenv: {TONGS_MCP_TOKEN: x}\n', errors: [['env.TONGS_MCP_TOKEN: reserved']] },

  // --- mounts ---
  { name: 'raw host path mount', yaml: 'image: img\nmounts: ["/etc:/etc"]\n', errors: [['mounts[0]: raw host paths are not allowed', 'workspace[:/target][:ro|rw]']] },
  { name: 'relative host path mount', yaml: 'image: img\nmounts: ["./src:/src"]\n', errors: [['mounts[0]: raw host paths are not allowed']] },
  { name: 'unknown mount word', yaml: 'image: img\nmounts: [home]\n', errors: [["mounts[0]: 'home' is not a mount word"]] },
  { name: 'volume without a target', yaml: 'image: img\nmounts: ["volume:data"]\n', errors: [["mounts[0]: 'volume:data' is not a mount word"]] },
  { name: 'workspace target must be absolute', yaml: 'image: img\nmounts: ["workspace:src"]\n', errors: [['mounts[0]', 'must be an absolute path']] },
  { name: 'bad volume name', yaml: 'image: img\nmounts: ["volume:-x:/d"]\n', errors: [["mounts[0]: volume name '-x' is invalid"]] },
  { name: 'two mounts on one target', yaml: 'image: img\nmounts: [workspace, "volume:v:/workspace"]\n', errors: [['mounts[1]: target /workspace is already used by mounts[0]']] },
  { name: 'shared tong may not mount the workspace (issue #3)', yaml: 'image: img\nlifecycle: shared\nmounts: [workspace:ro]\n', errors: [['tong.yaml:3:', 'mounts[0]: a shared tong cannot mount the workspace']] },

  // --- resources, argv ---
  { name: 'memory with an unknown unit', yaml: 'image: img\nresources: {memory: 2t}\n', errors: [['resources.memory: expected a number of bytes or a size like 512k, 256m, 1g']] },
  { name: 'memory below Docker minimum', yaml: 'image: img\nresources: {memory: 1m}\n', errors: [['resources.memory: Docker needs at least 6m']] },
  { name: 'unknown resource', yaml: 'image: img\nresources: {cpus: 2}\n', errors: [['resources.cpus: unknown key', 'accepted keys: memory']] },
  { name: 'entrypoint as a string', yaml: 'image: img\nentrypoint: /bin/sh\n', errors: [['entrypoint: expected a list of strings (an argv)']] },
  { name: 'empty command', yaml: 'image: img\ncommand: []\n', errors: [['command: must not be empty']] },
  { name: 'non-string argv element', yaml: 'image: img\ncommand: [run, [x]]\n', errors: [['command[1]: expected a string']] },

  // --- model tongs (issue #11) ---
  { name: 'model tong', yaml: `${MODEL}interface: {kind: model, dialect: anthropic, port: 8080, aliases: [claude-api]}\n`, errors: [] },
  { name: 'model tong with when.env', yaml: `${MODEL}interface: {kind: model, dialect: anthropic, port: 8080}\nwhen: {env: [ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN]}\n`, errors: [] },
  { name: 'model: unknown dialect lists the dialects', yaml: `${MODEL}interface:\n  kind: model\n  dialect: mistral\n  port: 8080\n`, errors: [['tong.yaml:4:', 'interface.dialect: expected a model API dialect: anthropic, openai, google', 'got the string "mistral"']] },
  { name: 'model: dialect is required', yaml: `${MODEL}interface: {kind: model, port: 8080}\n`, errors: [['interface.dialect: required: a model API dialect: anthropic, openai, google']] },
  { name: 'model: port is required', yaml: `${MODEL}interface: {kind: model, dialect: anthropic}\n`, errors: [['interface.port: required']] },
  { name: 'model: no mcp fields', yaml: `${MODEL}interface:\n  kind: model\n  dialect: anthropic\n  port: 8080\n  path: /v1\n`, errors: [['tong.yaml:6:', 'interface.path: unknown key', 'accepted keys: kind, dialect, port, aliases']] },
  { name: 'model: mcp readiness', yaml: `${MODEL}interface: {kind: model, dialect: anthropic, port: 8080}\nreadiness: {mode: mcp}\n`, errors: [['readiness.mode: mcp readiness needs interface.kind mcp']] },
  { name: 'model: reserved TONGS_MODEL_TOKEN', yaml: `${MODEL}interface: {kind: model, dialect: anthropic, port: 8080}\nenv: {TONGS_MODEL_TOKEN: x}\n`, errors: [['env.TONGS_MODEL_TOKEN: reserved']] },

  // --- when ---
  { name: 'when.env must be a list', yaml: 'image: img\nwhen: {env: ANTHROPIC_API_KEY}\n', errors: [['when.env: expected a list of host environment variable names', 'got the string']] },
  { name: 'when.env must not be empty', yaml: 'image: img\nwhen: {env: []}\n', errors: [['when.env: must not be empty']] },
  { name: 'when.env names variables', yaml: 'image: img\nwhen:\n  env: [OK, 1BAD]\n', errors: [['tong.yaml:3:', 'when.env[1]: not an environment variable name']] },
  { name: 'when needs env', yaml: 'image: img\nwhen: {}\n', errors: [['when.env: required']] },
  { name: 'unknown when condition', yaml: 'image: img\nwhen:\n  env: [A]\n  file: /x\n', errors: [['tong.yaml:4:', 'when.file: unknown key', 'accepted keys: env']] },

  // --- several problems at once ---
  {
    name: 'every problem is reported, in line order',
    yaml: 'imgae: x\ninterface: {kind: mcp, port: 0, name: ok}\nreadiness: {timeout: 10h}\nmounts: [/x:/y]\n',
    errors: [['tong.yaml:1:', 'image: required'], ['tong.yaml:1:', 'imgae: unknown key'], ['tong.yaml:2:', 'interface.port'], ['tong.yaml:3:', 'readiness.timeout'], ['tong.yaml:4:', 'mounts[0]']],
  },
];

function source(c: Case): DefinitionSource {
  const name = c.tong ?? 'tong';
  return { layer: 'repo', name, file: `/defs/${name}.yaml`, displayPath: `defs/${name}.yaml`, source: c.yaml };
}

test('at least 30 validation cases', () => {
  assert.ok(cases.filter((c) => c.errors.length > 0).length >= 30);
});

for (const c of cases) {
  test(`validate: ${c.name}`, () => {
    const result = validateDefinition(source(c));
    if (c.errors.length === 0) {
      assert.ok('tong' in result, `expected no problems, got:\n${'problems' in result ? result.problems.join('\n') : ''}`);
      return;
    }
    assert.ok('problems' in result, 'expected problems, got a valid definition');
    const problems = result.problems;
    assert.equal(problems.length, c.errors.length, `problems were:\n${problems.join('\n')}`);
    c.errors.forEach((parts, i) => {
      const line = problems[i] ?? '';
      assert.match(line, /^defs\/[^:]+\.yaml:\d+: \S.*: .+/, 'format <file>:<line>: <field path>: <message>');
      for (const part of parts) assert.ok(line.includes(part), `problem ${i} ${JSON.stringify(line)} lacks ${JSON.stringify(part)}`);
    });
  });
}

test('validateDefinitions: a name defined twice in one layer (x.yaml and x.yml) is refused', () => {
  const result = validateDefinitions([
    { layer: 'user', name: 'x', file: '/u/x.yaml', displayPath: 'u/x.yaml', source: 'image: a\n' },
    { layer: 'user', name: 'x', file: '/u/x.yml', displayPath: 'u/x.yml', source: 'image: b\n' },
    { layer: 'repo', name: 'x', file: '/r/x.yaml', displayPath: 'r/x.yaml', source: 'image: c\n' },
  ]);
  assert.deepEqual(result.problems, ["u/x.yml:1: (file name): tong 'x' is already defined in the user layer by u/x.yaml"]);
  assert.deepEqual(result.tongs.map((t) => `${t.layer}:${t.definition.image}`), ['user:a', 'repo:c']);
});

test('validateDefinitions collects problems from every file at once', () => {
  const result = validateDefinitions([
    { layer: 'user', name: 'a', file: '/a.yaml', displayPath: 'a.yaml', source: 'image: [\n' },
    { layer: 'repo', name: 'b', file: '/b.yaml', displayPath: 'b.yaml', source: 'imag: x\n' },
  ]);
  assert.equal(result.problems.filter((p) => p.startsWith('a.yaml:')).length, 1);
  assert.equal(result.problems.filter((p) => p.startsWith('b.yaml:')).length, 2);
});

test('a disabled stub is marked disabled', () => {
  const result = validateDefinition({ layer: 'workspace', name: 'gh', file: '/w/gh.yaml', displayPath: 'w/gh.yaml', source: 'disable: true\n' });
  assert.ok('tong' in result);
  assert.equal(result.tong.disabled, true);
});
