import type { UnionView, ViewEntry } from '../view';
import { walkTreeSync } from './walk';

/**
 * The other names a lower file has in the lower chain's merged tree. A layer's hardlinks stay
 * inside its own directory, but a layer above may hide some of their names (a whiteout, or a
 * directory made where a name was): only the names the chain still shows make a group.
 * Each layer asked about is walked once, keeping the names of its files with links.
 */
export class LowerLinkNames {
  private readonly byLayer = new Map<number, Map<string, string[]>>();

  constructor(private readonly view: UnionView) {}

  /** Whether the chain shows `e`'s inode at a path other than `e.path`. */
  hasOtherVisibleName(e: ViewEntry): boolean {
    const names = this.namesOf(e.layer).get(String(e.stat.ino)) ?? [];
    return names.some((p) => {
      if (p === e.path) return false;
      const seen = this.view.lookupSync(p);
      return seen !== null && seen.layer === e.layer && String(seen.stat.ino) === String(e.stat.ino);
    });
  }

  private namesOf(layer: number): Map<string, string[]> {
    let names = this.byLayer.get(layer);
    if (names) return names;
    names = new Map();
    for (const w of walkTreeSync(this.view.layerDirs[layer])) {
      if (!w.st.isFile() || w.st.nlink < 2n) continue;
      const key = String(w.st.ino);
      const list = names.get(key);
      if (list) list.push(w.path);
      else names.set(key, [w.path]);
    }
    this.byLayer.set(layer, names);
    return names;
  }
}
