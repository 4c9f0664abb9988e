/**
 * Mount "magic words" in tong definitions (DESIGN.md "Tong definitions", issue #2 item 2). A tong
 * never names a raw host path: the only host directory it can get is the session's workspace.
 *
 *   workspace[:/target][:ro|rw]      bind of the workspace; target default /workspace, default rw
 *   volume:NAME:/target[:ro|rw]      a named Docker volume; default rw
 */
import path from 'node:path';

/** A parsed mount word, before the workspace path is known. */
export type MountWord =
  | { kind: 'workspace'; target: string; readOnly: boolean }
  | { kind: 'volume'; name: string; target: string; readOnly: boolean };

/** Human list of accepted forms, used in validation messages. */
export const MOUNT_FORMS = 'workspace[:/target][:ro|rw] or volume:NAME:/target[:ro|rw]';

/** Default container path of the workspace mount. */
export const DEFAULT_WORKSPACE_TARGET = '/workspace';

/** Docker's volume-name rule. */
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Pattern for the JSON Schema (editors); the parser below gives the precise message.
 */
export const MOUNT_PATTERN = '^(workspace(:/[^:]*)?(:(ro|rw))?|volume:[A-Za-z0-9][A-Za-z0-9_.-]*:/[^:]*(:(ro|rw))?)$';

function parseTarget(target: string): string | { error: string } {
  if (!target.startsWith('/')) return { error: `mount target '${target}' must be an absolute path inside the tong` };
  const normal = path.posix.normalize(target);
  if (normal === '/') return { error: 'mount target must not be / (the whole container file system)' };
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

/**
 * Parse one mount word. Returns the parsed mount, or `{ error }` with a message naming the accepted
 * forms. Pure.
 */
export function parseMountWord(word: string): MountWord | { error: string } {
  const parts = word.split(':');
  const head = parts[0];
  let mode: 'ro' | 'rw' = 'rw';
  const last = parts[parts.length - 1];
  if (parts.length > 1 && (last === 'ro' || last === 'rw')) {
    mode = last;
    parts.pop();
  }
  if (head === 'workspace') {
    if (parts.length === 1) return { kind: 'workspace', target: DEFAULT_WORKSPACE_TARGET, readOnly: mode === 'ro' };
    if (parts.length === 2) {
      const target = parseTarget(parts[1] ?? '');
      if (typeof target !== 'string') return target;
      return { kind: 'workspace', target, readOnly: mode === 'ro' };
    }
    return { error: `'${word}' is not a mount word; expected ${MOUNT_FORMS}` };
  }
  if (head === 'volume') {
    if (parts.length !== 3) return { error: `'${word}' is not a mount word; expected ${MOUNT_FORMS}` };
    const name = parts[1] ?? '';
    if (!VOLUME_NAME.test(name)) {
      return { error: `volume name '${name}' is invalid: letters, digits, '_', '.', '-', starting with a letter or digit` };
    }
    const target = parseTarget(parts[2] ?? '');
    if (typeof target !== 'string') return target;
    return { kind: 'volume', name, target, readOnly: mode === 'ro' };
  }
  if (head === '' || head?.startsWith('.') || head?.startsWith('~') || word.startsWith('/')) {
    return { error: `raw host paths are not allowed ('${word}'); expected ${MOUNT_FORMS}` };
  }
  return { error: `'${word}' is not a mount word; expected ${MOUNT_FORMS}` };
}
