/**
 * Build LaunchPlans for unit tests through the real pure planner (launcher/core/plan.ts `planLaunch`),
 * from definition objects instead of YAML files, with fixed ids so plans are reproducible.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { planLaunch } from '../../launcher/core/plan.js';
import { mergeLayers, type MergedTong } from '../../launcher/core/layers.js';
import type { LayerName } from '../../launcher/core/plan-types.js';
import { validateDefinition } from '../../launcher/core/validate.js';
import { REPO_ROOT } from './process.js';
import type { TongDefinition } from '../../launcher/core/definition-schema.js';
import type { LaunchPlan } from '../../launcher/core/plan-types.js';

export interface PlanOptions {
  harness?: string | null;
  anvilArgv?: string[];
  sessionId?: string;
  tempDir?: string;
  workspace?: string | null;
  launcherPid?: number;
  launcherHost?: string;
  mcpTokens?: Record<string, string> | null;
  /** PlanInput `sharedNetns` (absent: the planner's default, true). */
  sharedNetns?: boolean;
  /** PlanInput `anvilRelay`. */
  anvilRelay?: boolean;
}

/** A plan for `definitions` (tong name → definition as written in YAML). */
export function buildPlan(definitions: Record<string, TongDefinition>, options: PlanOptions = {}): LaunchPlan {
  const tongs: MergedTong[] = Object.entries(definitions).map(([name, definition]) => ({
    layer: 'repo',
    name,
    file: `/defs/${name}.yaml`,
    displayPath: `defs/${name}.yaml`,
    disabled: false,
    definition,
  }));
  return planLaunch({
    tongs,
    harness: options.harness === undefined ? 'claude' : options.harness,
    anvilArgv: options.anvilArgv ?? ['docker', 'run', '--rm', 'anvil:local', 'claude'],
    sessionId: options.sessionId ?? 'a1b2c3d4e5f6',
    tempDir: options.tempDir ?? '/tmp/tongs-session',
    workspace: options.workspace ?? null,
    launcherPid: options.launcherPid ?? 4242,
    launcherHost: options.launcherHost ?? 'testhost',
    startedAt: '2026-01-01T00:00:00.000Z',
    mcpTokens: options.mcpTokens ?? null,
    ...(options.sharedNetns !== undefined ? { sharedNetns: options.sharedNetns } : {}),
    ...(options.anvilRelay !== undefined ? { anvilRelay: options.anvilRelay } : {}),
  });
}

/** Compare `actual` with test/golden/NAME; `UPDATE_GOLDEN=1` rewrites the file instead. */
export async function assertGolden(name: string, actual: string): Promise<void> {
  const file = path.join(REPO_ROOT, 'test', 'golden', name);
  if (process.env.UPDATE_GOLDEN === '1') await writeFile(file, actual);
  assert.equal(actual, await readFile(file, 'utf8'), `golden file test/golden/${name} differs (UPDATE_GOLDEN=1 rewrites it)`);
}

/** Validate and merge definitions given as `[layer, name, YAML text]`, as discovery would; throws on a problem. */
export function mergedTongs(...defs: [LayerName, string, string][]): MergedTong[] {
  return mergeLayers(
    defs.map(([layer, name, yaml]) => {
      const result = validateDefinition({ layer, name, file: `/defs/${layer}/${name}.yaml`, displayPath: `${layer}/${name}.yaml`, source: yaml });
      if (!('tong' in result)) throw new Error(result.problems.join('\n'));
      return result.tong;
    }),
  ).tongs;
}
