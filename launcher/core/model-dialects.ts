/**
 * Model dialects: the model APIs a `model` tong can speak (DESIGN.md "The seal" rule 4, issue #11
 * item 1). A `model` tong holds the harness's API key and forwards the harness's model requests to
 * the upstream API; its definition names the dialect (`interface: {kind: model, dialect: anthropic}`).
 *
 * Adding a dialect is one entry here, plus the wiring in the emitter of each
 * harness that speaks it (launcher/core/emitters/, `models`). The schema's enum, the messages and the
 * plan read this table.
 */

/** What the launcher knows about one dialect. */
export interface ModelDialectInfo {
  /** The API, for messages and the privilege summary. */
  api: string;
  /**
   * File name, under /run/tongs/ in the anvil, of the session bearer the harness presents to the
   * tong as its placeholder key. One file per dialect: a session has at most one model tong per
   * dialect.
   */
  tokenFile: string;
  /**
   * Anvil environment variables of this dialect's harnesses that carry a model credential or point
   * the harness elsewhere. An anvil argv that passes one of them itself (`-e NAME`) defeats the model
   * tong, so the plan warns about it.
   */
  anvilEnv: readonly string[];
}

/** The dialects, by name (the `dialect` value in a definition). */
export const MODEL_DIALECTS = {
  anthropic: {
    api: 'the Anthropic Messages API',
    tokenFile: 'anthropic-model-token',
    anvilEnv: ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'ANTHROPIC_BASE_URL'],
  },
  /** Codex CLI (issue #14 item 4). */
  openai: {
    api: 'the OpenAI API',
    tokenFile: 'openai-model-token',
    anvilEnv: ['OPENAI_API_KEY', 'CODEX_API_KEY', 'OPENAI_BASE_URL'],
  },
  /** Gemini CLI (issue #14 item 4). */
  google: {
    api: 'the Gemini API',
    tokenFile: 'google-model-token',
    anvilEnv: ['GEMINI_API_KEY', 'GOOGLE_API_KEY', 'GOOGLE_GEMINI_BASE_URL'],
  },
} as const satisfies Record<string, ModelDialectInfo>;

export type ModelDialect = keyof typeof MODEL_DIALECTS;

/** Dialect names, in table order (the order messages list them). */
export const MODEL_DIALECT_NAMES = Object.keys(MODEL_DIALECTS) as [ModelDialect, ...ModelDialect[]];

/** Where the anvil finds the session bearer of a dialect's model tong (mounted read-only). */
export function modelTokenContainerPath(dialect: ModelDialect): string {
  return `/run/tongs/${MODEL_DIALECTS[dialect].tokenFile}`;
}

/** The parts of a merged tong the model checks read. */
interface ModelTongLike {
  name: string;
  layer: string;
  displayPath: string;
  definition: { interface?: { kind: string; dialect?: string } | undefined };
}

/**
 * One line per dialect claimed by more than one model tong, naming every claimant and its file, e.g.
 * `2 model tongs for dialect 'anthropic': model-api (repo layer, sidecars/model-api.yaml), gateway
 * (user layer, ~/.tongs/tongs/gateway.yaml); a session has at most one per dialect: disable all but
 * one (disable: true in a higher layer)`. Empty when there is no conflict. Checked over every merged
 * definition, whether or not its `when` condition holds, so a conflict never depends on the host.
 */
export function findModelDialectConflicts(tongs: readonly ModelTongLike[]): string[] {
  const byDialect = new Map<string, ModelTongLike[]>();
  for (const t of tongs) {
    const iface = t.definition.interface;
    if (iface?.kind !== 'model' || !iface.dialect) continue;
    byDialect.set(iface.dialect, [...(byDialect.get(iface.dialect) ?? []), t]);
  }
  return [...byDialect.entries()]
    .filter(([, list]) => list.length > 1)
    .map(
      ([dialect, list]) =>
        `${list.length} model tongs for dialect '${dialect}': ` +
        list.map((t) => `${t.name} (${t.layer} layer, ${t.displayPath})`).join(', ') +
        '; a session has at most one per dialect: disable all but one (disable: true in a higher layer)',
    );
}
