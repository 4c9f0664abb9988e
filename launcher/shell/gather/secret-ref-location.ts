/**
 * Unknown secret providers, refused with the file and line of each reference (issue #13 item 4):
 * `sidecars/x.yaml:7: env.TOKEN: tong 'x': unknown secret provider 'op-wrok' (reference '…'); known providers: …`.
 * The provider table and the built-in providers are the resolver's own (secret-providers.ts), so
 * what this refuses is exactly what a launch could not resolve. Used before any container exists
 * (`createResolveSecrets`) and by `tongs validate`.
 */
import { readFile } from 'node:fs/promises';
import { SecretError, UnknownSecretProviderError } from '../../errors.js';
import { envValueLine } from '../../core/secret-ref-lines.js';
import { hasSecretRef } from '../../core/secret-refs.js';
import { displayPathOf } from './discover.js';
import type { SecretResolver } from './secret-providers.js';

/** What this module needs of a tong: its name, its definition file and its secret-bearing env. */
export interface TongSecretEnv {
  name: string;
  /** Absolute path of the definition file (without one, a problem has no location). */
  file?: string;
  secretEnv: Record<string, string>;
}

/**
 * One `<file>:<line>: env.<NAME>: <message>` line per env variable whose references name an unknown
 * provider (the first such reference of each variable), in tong then variable order.
 * @throws what `checkProviders` throws other than UnknownSecretProviderError (a malformed reference).
 */
export async function unknownProviderProblems(
  tongs: readonly TongSecretEnv[],
  resolver: Pick<SecretResolver, 'checkProviders'>,
  cwd: string = process.cwd(),
): Promise<string[]> {
  const problems: string[] = [];
  for (const tong of tongs) {
    let text: string | null | undefined;
    for (const [name, value] of Object.entries(tong.secretEnv)) {
      if (!hasSecretRef(value)) continue;
      try {
        resolver.checkProviders({ [name]: value }, `tong '${tong.name}'`);
      } catch (error) {
        if (!(error instanceof UnknownSecretProviderError)) throw error;
        if (tong.file === undefined) {
          problems.push(error.message);
          continue;
        }
        text ??= await readFile(tong.file, 'utf8').catch(() => null);
        const line = (text === null ? null : envValueLine(text, name)) ?? 1;
        problems.push(`${displayPathOf(tong.file, cwd)}:${line}: env.${name}: ${error.message}`);
      }
    }
  }
  return problems;
}

/** @throws SecretError listing {@link unknownProviderProblems}, when there are any. */
export async function refuseUnknownProviders(tongs: readonly TongSecretEnv[], resolver: Pick<SecretResolver, 'checkProviders'>): Promise<void> {
  const problems = await unknownProviderProblems(tongs, resolver);
  if (problems.length > 0) throw new SecretError(problems.join('\n'));
}
