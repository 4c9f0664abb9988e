/**
 * The emitter registry, keyed by harness name (issue #2 item 5, issue #14 item 1). Another harness is
 * one new module and one entry here.
 */
import { claudeEmitter } from './claude.js';
import { codexEmitter } from './codex.js';
import { geminiEmitter } from './gemini.js';
import { opencodeEmitter } from './opencode.js';
import type { HarnessEmitter } from './types.js';

export type { AnvilOption, EmittedFile, Emission, EmitterInput, HarnessEmitter, McpServerEntry, ModelEndpoint } from './types.js';
export { ANVIL_FILES_DIR } from './types.js';

const EMITTERS: ReadonlyMap<string, HarnessEmitter> = new Map(
  [claudeEmitter, opencodeEmitter, codexEmitter, geminiEmitter].map((e) => [e.harness, e] as const),
);

/** Supported `--harness` values, sorted. */
export const SUPPORTED_HARNESSES: readonly string[] = [...EMITTERS.keys()].sort();

/** The emitter for `harness`, or undefined when there is none. */
export function getEmitter(harness: string | null | undefined): HarnessEmitter | undefined {
  return harness ? EMITTERS.get(harness) : undefined;
}
