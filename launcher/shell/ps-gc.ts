/**
 * `tongs ps` and `tongs gc`. Placeholder until the Docker runtime issue (#3) lands.
 */
import { TongsError } from '../errors.js';

export interface PsOptions {
  json: boolean;
}
export interface GcOptions {
  shared: boolean;
  quiet: boolean;
}

/** Print sessions and tongs that tongs started and that still exist. Returns the exit status. */
export async function psCommand(_options: PsOptions): Promise<number> {
  throw new TongsError('`tongs ps` is not implemented yet; see issue #3');
}

/** Remove what dead sessions left behind. Returns the exit status. */
export async function gcCommand(_options: GcOptions): Promise<number> {
  throw new TongsError('`tongs gc` is not implemented yet; see issue #3');
}
