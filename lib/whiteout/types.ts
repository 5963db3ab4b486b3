import type * as fs from 'fs';
import type { WhiteoutFormatName } from '../types';

export type Classified = { kind: 'whiteout'; target: string } | { kind: 'opaque-marker' } | null;

/**
 * How a layer directory records deletions. A whiteout for NAME hides NAME of the layers below
 * only: an entry of the same name in the same layer survives it. An opaque directory hides the
 * directory's contents of the layers below, keeping its own.
 */
export interface WhiteoutFormat {
  readonly name: WhiteoutFormatName;
  /**
   * Records that `name` in `dir` is deleted from the layers below. An entry of that name in this
   * layer stays: in the overlay formats, where the whiteout and the entry would share one name,
   * an existing directory is made opaque instead (which hides the same) and anything else is
   * left as it is (it already hides the layers below).
   */
  writeWhiteoutSync(dir: string | Buffer, name: string | Buffer): void;
  markOpaqueSync(dir: string | Buffer): void;
  isOpaqueSync(dir: string | Buffer): boolean;
  /**
   * How to read one directory entry, given its lstat: a whiteout hiding `target`, the opaque
   * marker file (oci only), or null for an ordinary entry.
   */
  classify(name: string, st: fs.Stats): Classified;
  /** Removes a whiteout for `name` in `dir` if present (an entry of the same layer wins over its whiteout). */
  removeWhiteoutSync(dir: string | Buffer, name: string | Buffer): void;
  /** xattr names this format reserves (never exported into tars, never copied between formats). */
  readonly reservedXattrPrefixes: string[];
}
