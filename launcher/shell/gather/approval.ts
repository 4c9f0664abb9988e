/**
 * First-run approval of the untrusted workspace layer (issue #6 "First-run approval", DESIGN.md
 * "Tong definitions"): a tong whose winning layer is `workspace`, and the workspace `.tongs/env`
 * file, run only after the user approved exactly that definition for exactly that workspace.
 *
 * - Before anything starts, each pending item's privilege summary goes to stderr, then
 *   `Approve workspace tong '<name>'? [y/N]` is read from the input stream (stdin in the CLI).
 *   Only `y`/`yes` (any case) approves; anything else, and EOF, declines: RefusalError, exit 1.
 * - Approvals are keyed by workspace root + tong name + config hash (the env file: workspace root +
 *   sha256 of its content), so a changed definition asks again.
 * - The store (`--approvals`, default `$TONGS_HOME/approvals.json`) is written atomically (temp file
 *   + rename) and only after every pending item was approved.
 * - `--no-prompt` fails closed: the summaries are printed, then the launch is refused.
 * - A corrupt or unreadable store is treated as empty, with a warning; it never crashes the launch.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { egressEntriesHash, summarizeEgressEntries } from '../../core/egress.js';
import { RefusalError } from '../../errors.js';
import type { LayerName } from '../../core/plan-types.js';
import { escapeControl, summarizeEnvFile, summarizeTong, type PrivilegeSubject } from '../../core/privilege-summary.js';

/** Where diagnostics go (process.stderr in the CLI). */
export interface TextSink {
  write(text: string): unknown;
}

const ApprovedTongSchema = z.object({
  workspace: z.string().describe('absolute workspace root'),
  name: z.string().describe('tong name'),
  configHash: z.string().describe('config hash of the approved definition'),
  approvedAt: z.string().describe('ISO 8601 time of approval'),
});
const ApprovedEnvFileSchema = z.object({
  workspace: z.string().describe('absolute workspace root'),
  contentHash: z.string().describe('sha256 (hex) of the approved .tongs/env content'),
  approvedAt: z.string().describe('ISO 8601 time of approval'),
});

const ApprovedEgressSchema = z.object({
  workspace: z.string().describe('absolute workspace root'),
  entriesHash: z.string().describe('egressEntriesHash of the approved workspace egress entries'),
  approvedAt: z.string().describe('ISO 8601 time of approval'),
});

/** The approvals file: `{version: 1, tongs: [...], envFiles: [...], egress: [...]}` (egress: issue #11). */
export const ApprovalStoreSchema = z.object({
  version: z.literal(1),
  tongs: z.array(ApprovedTongSchema),
  envFiles: z.array(ApprovedEnvFileSchema),
  egress: z.array(ApprovedEgressSchema).default([]),
});
export type ApprovalStore = z.infer<typeof ApprovalStoreSchema>;

const emptyStore = (): ApprovalStore => ({ version: 1, tongs: [], envFiles: [], egress: [] });

/** `$TONGS_HOME/approvals.json`, `TONGS_HOME` defaulting to `~/.tongs`. */
export function defaultApprovalsPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.TONGS_HOME || path.join(os.homedir(), '.tongs'), 'approvals.json');
}

/** sha256 (hex) of an env file's content, the key of its approval. */
export function envFileHash(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}

/**
 * Read the store. A missing file is an empty store; an unreadable, non-JSON or wrongly shaped file
 * is an empty store plus a `tongs: warning: …` line on `stderr`.
 */
export async function readApprovalStore(file: string, stderr: TextSink): Promise<ApprovalStore> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyStore();
    stderr.write(`tongs: warning: cannot read approvals file ${file} (${(error as Error).message}); treating it as empty\n`);
    return emptyStore();
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    stderr.write(`tongs: warning: approvals file ${file} is not valid JSON (${(error as Error).message}); treating it as empty\n`);
    return emptyStore();
  }
  const parsed = ApprovalStoreSchema.safeParse(data);
  if (!parsed.success) {
    stderr.write(`tongs: warning: approvals file ${file} has an unexpected shape; treating it as empty\n`);
    return emptyStore();
  }
  return parsed.data;
}

/** Write the store atomically: a private temp file in the same directory, then rename over. */
export async function writeApprovalStore(file: string, store: ApprovalStore): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** A tong as the approval sees it: what the summary shows, plus its layer and config hash. */
export type ApprovalTong = PrivilegeSubject & { layer: LayerName; configHash: string };

export interface WorkspaceApprovalOptions {
  /** Every planned tong (or merged definition); only those whose winning layer is `workspace` are gated. */
  tongs: readonly ApprovalTong[];
  /** The workspace `.tongs/env` file passed to the anvil, when it exists. */
  envFile?: { path: string; content: string } | null;
  /** Hosts the workspace's `.tongs/egress.yaml` lets the anvil reach (issue #11), when it lists any. */
  egressEntries?: { file: string; entries: string[] } | null;
  /** The workspace root (`--workspace`); resolved to an absolute path for the key. */
  workspaceRoot: string;
  /** The store (`--approvals`), e.g. {@link defaultApprovalsPath}. */
  storePath: string;
  /** `--no-prompt`: print the summaries of pending items, then refuse. */
  noPrompt: boolean;
  /** Where answers are read from, one line per question (process.stdin in the CLI). */
  input: NodeJS.ReadableStream;
  /** Where summaries, questions and warnings go (process.stderr in the CLI). */
  stderr: TextSink;
  /** Clock for `approvedAt`; default `() => new Date()`. */
  now?: () => Date;
}

export interface WorkspaceApprovalResult {
  /** Names of tongs approved just now (the env file as `.tongs/env`). */
  approvedNow: string[];
  /** Names already approved earlier for this exact definition. */
  alreadyApproved: string[];
}

interface Pending {
  label: string;
  question: string;
  summary: string[];
  record: (store: ApprovalStore, approvedAt: string) => void;
}

/**
 * Gate the workspace layer on approval. Resolves when every workspace tong (and the env file) is
 * approved — earlier or now; stores new approvals atomically after the last one.
 * @throws RefusalError (exit 1) when an item is declined, the input ends (EOF), or `noPrompt` is set
 *   and something is pending. Nothing is stored then.
 */
export async function approveWorkspace(options: WorkspaceApprovalOptions): Promise<WorkspaceApprovalResult> {
  const workspace = path.resolve(options.workspaceRoot);
  const gated = options.tongs.filter((t) => t.layer === 'workspace');
  const result: WorkspaceApprovalResult = { approvedNow: [], alreadyApproved: [] };
  const egress = options.egressEntries && options.egressEntries.entries.length > 0 ? options.egressEntries : null;
  if (gated.length === 0 && !options.envFile && !egress) return result;

  const store = await readApprovalStore(options.storePath, options.stderr);
  const pending: Pending[] = [];
  for (const tong of gated) {
    const known = store.tongs.some((a) => a.workspace === workspace && a.name === tong.name && a.configHash === tong.configHash);
    if (known) {
      result.alreadyApproved.push(tong.name);
      continue;
    }
    pending.push({
      label: tong.name,
      question: `Approve workspace tong '${escapeControl(tong.name)}'? [y/N] `,
      summary: summarizeTong(tong),
      record: (s, approvedAt) => {
        // One approval per workspace + name: a changed definition replaces the old one.
        s.tongs = s.tongs.filter((a) => !(a.workspace === workspace && a.name === tong.name));
        s.tongs.push({ workspace, name: tong.name, configHash: tong.configHash, approvedAt });
      },
    });
  }
  if (options.envFile) {
    const contentHash = envFileHash(options.envFile.content);
    const envPath = options.envFile.path;
    if (store.envFiles.some((a) => a.workspace === workspace && a.contentHash === contentHash)) {
      result.alreadyApproved.push('.tongs/env');
    } else {
      pending.push({
        label: '.tongs/env',
        question: `Approve workspace env file '${escapeControl(envPath)}'? [y/N] `,
        summary: summarizeEnvFile(envPath, options.envFile.content),
        record: (s, approvedAt) => {
          s.envFiles = s.envFiles.filter((a) => a.workspace !== workspace);
          s.envFiles.push({ workspace, contentHash, approvedAt });
        },
      });
    }
  }
  if (egress) {
    const entriesHash = egressEntriesHash(egress.entries);
    if (store.egress.some((a) => a.workspace === workspace && a.entriesHash === entriesHash)) {
      result.alreadyApproved.push('.tongs/egress.yaml');
    } else {
      pending.push({
        label: '.tongs/egress.yaml',
        question: `Approve the hosts in workspace egress allowlist '${escapeControl(egress.file)}'? [y/N] `,
        summary: summarizeEgressEntries(egress.file, egress.entries),
        record: (s, approvedAt) => {
          s.egress = s.egress.filter((a) => a.workspace !== workspace);
          s.egress.push({ workspace, entriesHash, approvedAt });
        },
      });
    }
  }
  if (pending.length === 0) return result;

  const printSummary = (item: Pending) => options.stderr.write(item.summary.map((line) => `tongs: ${line}\n`).join(''));

  if (options.noPrompt) {
    for (const item of pending) printSummary(item);
    const names = pending.map((p) => `'${escapeControl(p.label)}'`).join(', ');
    throw new RefusalError(
      `workspace ${escapeControl(workspace)} needs approval for ${names} and --no-prompt was given; run once without --no-prompt to review and approve`,
    );
  }

  const lines = createInterface({ input: options.input, terminal: false, crlfDelay: Infinity });
  const answers = lines[Symbol.asyncIterator]();
  try {
    for (const item of pending) {
      printSummary(item);
      options.stderr.write(`tongs: ${item.question}`);
      const answer = await answers.next();
      // A terminal echoes the answer and its newline; piped input and EOF do not, so end the line here.
      if (answer.done || !(options.input as { isTTY?: boolean }).isTTY) options.stderr.write('\n');
      const yes = !answer.done && /^(y|yes)$/i.test(answer.value.trim());
      if (!yes) {
        throw new RefusalError(
          `workspace ${item.label === '.tongs/env' ? 'env file' : 'tong'} '${escapeControl(item.label)}' was not approved${
            answer.done ? ' (no answer: input ended)' : ''
          }; nothing was started`,
        );
      }
      result.approvedNow.push(item.label);
    }
  } finally {
    lines.close();
  }

  const approvedAt = (options.now ?? (() => new Date()))().toISOString();
  for (const item of pending) item.record(store, approvedAt);
  try {
    await writeApprovalStore(options.storePath, store);
  } catch (error) {
    // The user did approve: go on, but say it will be asked again.
    options.stderr.write(
      `tongs: warning: cannot save approvals to ${options.storePath} (${(error as Error).message}); you will be asked again next time\n`,
    );
  }
  return result;
}
