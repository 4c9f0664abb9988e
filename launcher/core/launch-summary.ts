/**
 * The launch summary lines about which path the launch takes (issue #11 "No key set": "say which
 * path was taken"): which model tong the harness's model requests go through, which tongs `when`
 * left out, and what the plan warns about. Pure: plan data in, sentences out (without the `tongs: `
 * prefix); the CLI prints them on stderr before any Docker work.
 */
import { MODEL_DIALECTS } from './model-dialects.js';
import type { LaunchPlan } from './plan-types.js';

/** `info` lines are progress (`--quiet` drops them); `warnings` are always shown. */
export interface LaunchSummary {
  info: string[];
  warnings: string[];
}

export function launchSummary(plan: Pick<LaunchPlan, 'models' | 'skipped' | 'warnings'> & { egress?: LaunchPlan['egress'] }): LaunchSummary {
  const lines: string[] = [];
  if (plan.egress && !plan.egress.open && plan.egress.login.length > 0) {
    lines.push(`egress: the harness's own login may reach ${plan.egress.login.join(', ')} (no model tong holds its key)`);
  }
  for (const m of plan.models) {
    lines.push(
      `model: the harness reaches ${MODEL_DIALECTS[m.dialect].api} through the model tong '${m.tong}' (${m.baseUrl}); the key stays in the tong`,
    );
  }
  for (const s of plan.skipped) {
    lines.push(
      s.kind === 'model'
        ? `model: the model tong '${s.name}' is not started: ${s.reason}; the harness uses its own login`
        : `tong '${s.name}' is not started: ${s.reason}`,
    );
  }
  return { info: lines, warnings: plan.warnings.map((w) => `warning: ${w}`) };
}
