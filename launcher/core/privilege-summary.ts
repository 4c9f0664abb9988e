/**
 * The privilege summary shown before a workspace tong (or the workspace `.tongs/env` file) is
 * approved (issue #6 "First-run approval", DESIGN.md "Tong definitions"). Pure: data in, lines out.
 *
 * Everything taken from the definition is passed through {@link escapeControl}, so a hostile
 * definition cannot rewrite the terminal (clear the screen, move the cursor, fake a line, reorder
 * text with bidi overrides) to hide what it asks for.
 */
import { formatPermissions } from './github-app.js';
import { MODEL_DIALECTS } from './model-dialects.js';
import type { PlannedTong } from './plan-types.js';
import { listSecretRefs } from './secret-refs.js';

/** The parts of a planned tong the summary shows. */
export type PrivilegeSubject = Pick<
  PlannedTong,
  'name' | 'file' | 'image' | 'build' | 'lifecycle' | 'alias' | 'aliases' | 'secretEnv' | 'mounts' | 'memoryBytes'
> &
  Partial<Pick<PlannedTong, 'entrypoint' | 'command' | 'port' | 'kind' | 'dialect' | 'hosts' | 'bridge' | 'egress' | 'githubApp'>>;

const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x1b': '\\e', '\\': '\\\\' };

/**
 * `text` with every control character made visible: C0, DEL and C1 controls become `\n`, `\t`,
 * `\r`, `\e` or `\xNN`; Unicode bidi controls, zero-width characters, line/paragraph separators and
 * the BOM become `\u{XXXX}`; a backslash is doubled so escapes stay unambiguous.
 */
export function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f\\\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/gu, (ch) => {
    const named = NAMED_ESCAPES[ch];
    if (named) return named;
    const code = ch.codePointAt(0)!;
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** Bytes as people read them: `256 MiB`, `1.5 GiB`, `512 KiB`, `100 bytes`. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1 && value % 1 === 0) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

const q = (s: string) => `'${escapeControl(s)}'`;

/**
 * The summary of one tong as lines (no `tongs: ` prefix, no newline): where it is defined, image
 * (and build context), secret references as `provider:ref`, mounts, networks and aliases, memory,
 * lifecycle, and argv overrides when present.
 * @throws SecretError when a secret reference is malformed (validation normally caught it earlier).
 */
export function summarizeTong(tong: PrivilegeSubject): string[] {
  const refs = listSecretRefs(tong.secretEnv, `tong '${tong.name}'`);
  const lines = [
    `workspace tong ${q(tong.name)} (defined in ${escapeControl(tong.file)}) asks for:`,
    `  image:     ${escapeControl(tong.image)}${tong.build ? ` (built from ${escapeControl(tong.build)} when absent)` : ''}`,
    `  secrets:   ${
      refs.length === 0 ? 'none' : refs.map((r) => escapeControl(`${r.provider}:${r.ref}${r.optional ? '?' : ''}`)).join(', ')
    }`,
    `  mounts:    ${
      tong.mounts.length === 0
        ? 'none'
        : tong.mounts
            .map(
              (m) =>
                `${m.type === 'volume' ? 'volume ' : ''}${escapeControl(m.source)} -> ${escapeControl(m.target)} (${m.readOnly ? 'read-only' : 'read-write'})`,
            )
            .join(', ')
    }`,
    `  networks:  the session network, as ${[tong.alias, ...tong.aliases].map(escapeControl).join(', ')}${
      tong.port !== undefined && tong.port !== null ? ` (port ${tong.port})` : ''
    }`,
    ...(tong.egress ? ['  internet:  yes (egress: the tong also joins the session\'s egress network)'] : []),
    ...(tong.kind === 'model' && tong.dialect
      ? [
          `  model:     ${MODEL_DIALECTS[tong.dialect].api} (dialect ${tong.dialect}): the harness sends every model request ` +
            `through this tong, with the conversation and the workspace content in it`,
        ]
      : []),
    ...(tong.githubApp
      ? [
          `  github-app: installation tokens minted on this host, each limited to the one repository its reference names, with ` +
            `${escapeControl(formatPermissions(tong.githubApp.permissions))}`,
        ]
      : []),
    ...(tong.hosts && tong.hosts.length > 0 ? [`  hosts:     ${tong.hosts.map(escapeControl).join(', ')} (names it resolves; host-gateway is this host)`] : []),
    `  memory:    ${tong.memoryBytes === null ? 'unlimited' : formatBytes(tong.memoryBytes)}`,
    `  lifecycle: ${tong.lifecycle === 'shared' ? 'shared (keeps running after the session)' : 'session'}`,
  ];
  if (tong.bridge) {
    // A stdio tong (issue #13): the entrypoint is the tongs bridge; what runs is the server's argv.
    const node = tong.bridge.node === 'host' ? "the launcher's Node runtime, mounted read-only" : "the image's own node";
    lines.push(`  transport: stdio: the tongs bridge (run by ${node}) serves this program as MCP over HTTP:`);
    lines.push(`  command:   ${tong.bridge.command.map((a) => q(a)).join(' ')}`);
    return lines;
  }
  if (tong.entrypoint) lines.push(`  entrypoint: ${tong.entrypoint.map((a) => q(a)).join(' ')}`);
  if (tong.command) lines.push(`  command:   ${tong.command.map((a) => q(a)).join(' ')}`);
  return lines;
}

/**
 * The summary of the workspace `.tongs/env` file passed to the anvil: its path and every
 * non-blank, non-comment line (what it sets in the anvil's environment), escaped.
 */
export function summarizeEnvFile(file: string, content: string): string[] {
  const settings = content
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  return [
    `workspace env file ${escapeControl(file)} sets in the anvil's environment:`,
    ...(settings.length === 0 ? ['  (nothing)'] : settings.map((line) => `  ${escapeControl(line)}`)),
  ];
}
