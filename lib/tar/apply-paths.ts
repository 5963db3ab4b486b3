/**
 * Names of tar entries as the applier sees them: split into safe components, and an index of what
 * this layer has made so far (so safety checks need no lstat of the target).
 */
import { LimitExceededError, UnsafePathError } from '../errors';

/** What the layer holds at a path: 'whiteout' is a deletion of a lower entry, 'skipped' an entry not made (a device when not permitted). */
export type Kind = 'dir' | 'file' | 'symlink' | 'other' | 'whiteout' | 'skipped';

/**
 * Splits a name into components: leading `./`, doubled slashes and `.` components are dropped;
 * an absolute name, a `..` component or a path deeper than `maxDepth` is refused. `[]` is the root:
 * `./`, and `/` (as Go's reader cleans it: `umoci insert … /` writes that entry, and skopeo and
 * umoci accept the image); every other absolute name is refused.
 */
export function splitName(raw: Buffer, entry: string, what: string, maxDepth: number): Buffer[] {
  if (raw.length === 0) throw new UnsafePathError(entry, `empty ${what}`);
  if (raw[0] === 0x2f) {
    if (isRootName(raw)) return [];
    throw new UnsafePathError(entry, `absolute ${what}`);
  }
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= raw.length; i++) {
    if (i < raw.length && raw[i] !== 0x2f) continue;
    const len = i - start;
    if (len === 2 && raw[start] === 0x2e && raw[start + 1] === 0x2e) throw new UnsafePathError(entry, `the ${what} has a ".." component`);
    if (len > 0 && !(len === 1 && raw[start] === 0x2e)) {
      parts.push(raw.subarray(start, i));
      if (parts.length > maxDepth) throw new LimitExceededError(entry, `the ${what} is more than ${maxDepth} components deep`);
    }
    start = i + 1;
  }
  return parts;
}

/** `/`, `//`, `/.`, `/./`: nothing but slashes and `.` components. */
function isRootName(raw: Buffer): boolean {
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x2f) continue;
    if (raw[i] === 0x2e && (i + 1 === raw.length || raw[i + 1] === 0x2f) && raw[i - 1] === 0x2f) continue;
    return false;
  }
  return true;
}

/** A map key for a path: its bytes as latin1 (one char per byte, so exact), components joined by '/'. */
export function keyOf(parts: Buffer[], n = parts.length): string {
  let k = '';
  for (let i = 0; i < n; i++) k = i === 0 ? parts[i].toString('latin1') : k + '/' + parts[i].toString('latin1');
  return k;
}

/** The key's path bytes. */
export function keyBytes(k: string): Buffer {
  return Buffer.from(k, 'latin1');
}

const parentOf = (k: string) => {
  const i = k.lastIndexOf('/');
  return i === -1 ? '' : k.slice(0, i);
};

/**
 * What this layer made, by key, with each directory's children, so a directory replaced by a
 * non-directory drops its whole subtree without a scan of every path. Invariant: a key present
 * here has only 'dir' ancestors (an ancestor replaced by anything else took its subtree with it).
 */
export class LayerIndex {
  private readonly kinds = new Map<string, Kind>();
  private readonly children = new Map<string, Set<string>>();

  get(k: string): Kind | undefined {
    return this.kinds.get(k);
  }

  set(k: string, kind: Kind): void {
    if (!this.kinds.has(k)) {
      const p = parentOf(k);
      let s = this.children.get(p);
      if (!s) this.children.set(p, (s = new Set()));
      s.add(k);
    }
    this.kinds.set(k, kind);
  }

  /** Forgets `k` and everything under it; `onRemove` hears of each key dropped. */
  delete(k: string, onRemove?: (k: string) => void): void {
    if (!this.kinds.delete(k)) return;
    this.children.get(parentOf(k))?.delete(k);
    onRemove?.(k);
    this.dropSubtree(k, onRemove);
  }

  private dropSubtree(k: string, onRemove?: (k: string) => void): void {
    const kids = this.children.get(k);
    if (!kids) return;
    this.children.delete(k);
    for (const c of kids) {
      this.kinds.delete(c);
      onRemove?.(c);
      this.dropSubtree(c, onRemove);
    }
  }

  entries(): IterableIterator<[string, Kind]> {
    return this.kinds.entries();
  }
}
