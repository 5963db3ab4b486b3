import * as native from '../native';
import { UnsupportedError } from '../errors';
import { fsPath } from '../names';
import { whiteoutFormat } from '../whiteout';
import type { WhiteoutFormat } from '../whiteout';
import type { UnionView, ViewEntry } from '../view';
import type { WhiteoutFormatName } from '../types';
import type { Change } from './types';
import { CONTAINER_POLICY, LinkTracker, Side, byChangePath, changeOf, compareSides } from './compare';
import { childPath, lstatListedSync, sortedNamesSync } from './walk';
import { diffTreesWithPolicy } from './trees';
import { LowerLinkNames } from './lower-links';

/** xattrs that mean the upperdir alone does not tell what the merged tree holds. */
const REDIRECT_OR_METACOPY = new Set(['trusted.overlay.redirect', 'trusted.overlay.metacopy', 'user.overlay.redirect', 'user.overlay.metacopy']);

export interface OverlayChangesOptions {
  /**
   * The mounted merged tree. Used only when the upperdir holds redirect or metacopy xattrs: then
   * the merged tree is compared with the lower chain in full, since the upperdir alone would give
   * a wrong answer.
   */
  merged?: string;
  /** Give up (OverBudgetError) after this many upperdir entries, or when the full walk would be needed. */
  budget?: number;
  /** Give up (OverBudgetError) before reading more than this many bytes of contents to compare. */
  readBudget?: number;
}

/** The walk would cost more than the caller allowed (the async form then moves it to a worker). */
export class OverBudgetError extends Error {}

class NeedsFullWalk extends Error {
  constructor(readonly path: string, readonly xattr: string) {
    super(`${path} has ${xattr}`);
  }
}

/**
 * How an upperdir directory relates to the lower chain:
 * - 'merge': the lower chain has this directory and the upper one does not hide it: lower
 *   children show through, except those whited out;
 * - 'shadow': at or inside an opaque directory: only upper children are visible, so a lower
 *   child with no upper one of its name is deleted, at every depth;
 * - 'new': nothing of the lower chain is at or below this path.
 */
type Mode = 'merge' | 'shadow' | 'new';

/**
 * The changes of an overlay container from its upperdir alone: each upper entry is looked up in
 * the lower chain, so the cost follows the size of the change, not of the root. An entry copied
 * up and left as it was (same type, mode, owner, size, mtime, xattrs and bytes) is not reported:
 * an upper file of its lower file's size is read, since `cp -p`, `rsync -a` or a rename over it
 * keep size and mtime. An opaque directory reports the
 * lower children it hides as deleted; a whiteout of a path no lower layer holds is not reported.
 * Redirect or metacopy xattrs make it compare the mounted merged tree (`opts.merged`) in full.
 *
 * Also the changes of any layer directory against the chain below it (whiteouts in `whiteout`
 * format). Sorted by path.
 */
export function overlayChanges(upperDir: string, lowerView: UnionView, whiteout: WhiteoutFormatName, opts: OverlayChangesOptions = {}): Change[] {
  const walk = new UpperWalk(lowerView, whiteoutFormat(whiteout), opts.budget, opts.readBudget);
  try {
    return walk.run(upperDir);
  } catch (e) {
    if (!(e instanceof NeedsFullWalk)) throw e;
    if (opts.budget !== undefined) throw new OverBudgetError('the upperdir needs a full walk');
    if (!opts.merged || !native.isMountPoint(opts.merged)) {
      throw new UnsupportedError(
        `the upperdir ${upperDir} holds overlay redirect or metacopy xattrs (${e.xattr} on ${e.path}): its changes can only be read ` +
          'by comparing the mounted merged tree with the lower chain; mount it and pass its path as `merged`',
      );
    }
    return diffTreesWithPolicy(lowerView, opts.merged, CONTAINER_POLICY);
  }
}

class UpperWalk {
  private readonly out: Change[] = [];
  private readonly links = new LinkTracker();
  private readonly lowerLinks: LowerLinkNames;
  private readonly checkXattrs = native.available();
  private visited = 0;
  private toRead = 0;

  constructor(private readonly lower: UnionView, private readonly fmt: WhiteoutFormat, private readonly budget?: number, private readonly readBudget?: number) {
    this.lowerLinks = new LowerLinkNames(lower);
  }

  run(upperDir: string): Change[] {
    const below = this.lower.lookupSync('/');
    const root = { real: upperDir, st: lstatListedSync(upperDir) };
    if (below) this.compare('/', root, below);
    this.dir(upperDir, '/', below ? (this.fmt.isOpaqueSync(upperDir) ? 'shadow' : 'merge') : 'new');
    this.links.finish(this.out);
    return this.out.sort(byChangePath);
  }

  private dir(dirReal: string, dir: string, mode: Mode): void {
    const names = sortedNamesSync(dirReal);
    const present = new Set<string>();
    let all: Set<string> | undefined;
    // the lower directory resolved once for all its children's lookups (the chain does not change meanwhile)
    const below = mode === 'new' ? null : this.lower.dirStackSync(dir);
    for (const name of names) {
      if (this.budget !== undefined && ++this.visited > this.budget) throw new OverBudgetError(`more than ${this.budget} upperdir entries`);
      const real = dirReal + '/' + name;
      const st = lstatListedSync(real);
      this.refuseRedirects(real);
      const c = this.fmt.classify(name, st);
      if (c?.kind === 'opaque-marker') continue;
      if (c?.kind === 'whiteout') {
        // in a shadowed directory the hidden lower children are reported from the lower listing
        if (mode !== 'merge') continue;
        // (an oci layer directory may hold the name too, which survives its whiteout: a change, not a deletion)
        if (c.target !== name && (all ??= new Set(names)).has(c.target)) continue;
        const gone = this.lower.lookupInSync(below, c.target);
        if (gone) this.deleted(gone);
        continue;
      }
      present.add(name);
      this.entry(childPath(dir, name), { real, st }, mode, mode === 'new' ? null : this.lower.lookupInSync(below, name));
    }
    if (mode === 'shadow') {
      for (const name of this.lower.readdirSync(dir)) {
        if (!present.has(name)) this.deleted(this.lower.lookupInSync(below, name)!);
      }
    }
  }

  /** `below`: the lower chain's entry at `p` (null in a new directory). */
  private entry(p: string, side: Side, mode: Mode, below: ViewEntry | null): void {
    const isDir = side.st.isDirectory();
    if (!below) {
      this.report('A', p, side);
      if (isDir) this.dir(side.real, p, 'new');
      return;
    }
    if (isDir && below.type === 'dir') {
      // a directory made again over a lower one hides what the lower one holds
      const recreated = mode === 'shadow' || this.fmt.isOpaqueSync(side.real);
      const changed = this.compare(p, side, below, recreated);
      if (!changed && recreated) this.report('C', p, side, ['recreated'], true);
      this.dir(side.real, p, recreated ? 'shadow' : 'merge');
      return;
    }
    this.compare(p, side, below);
    // a directory in place of a lower non-directory: nothing lower is below it
    if (isDir) this.dir(side.real, p, 'new');
  }

  /** Reports `p` as changed if it differs from the lower entry; returns whether it did. */
  private compare(p: string, side: Side, below: ViewEntry, recreated = false): boolean {
    if (this.readBudget !== undefined && side.st.isFile() && below.stat.isFile() && side.st.size === below.stat.size) {
      this.toRead += side.st.size;
      if (this.toRead > this.readBudget) throw new OverBudgetError(`more than ${this.readBudget} bytes to compare`);
    }
    const what = compareSides({ real: below.realPath, st: below.stat }, side, CONTAINER_POLICY);
    // a copy-up (index=off) gives one name of a hardlinked lower file an inode of its own: the
    // other names no longer share it, and a layer that left this one out would join them again
    // (names a layer above hides are no group: nothing to join)
    if (what.length === 0 && side.st.isFile() && below.stat.isFile() && below.stat.nlink > 1 && this.lowerLinks.hasOtherVisibleName(below)) what.push('link');
    if (what.length === 0) {
      this.links.unchangedEntry(p, side.real, side.st);
      return false;
    }
    if (recreated) what.push('recreated');
    this.report('C', p, side, what, recreated);
    return true;
  }

  private report(kind: 'A' | 'C', p: string, side: Side, what?: Change['what'], opaque?: boolean): void {
    this.out.push(changeOf(kind, p, side, { what, opaque }));
    this.links.reportedEntry(side.st);
  }

  private deleted(e: ViewEntry): void {
    this.out.push(changeOf('D', e.path, { real: e.realPath, st: e.stat }));
  }

  private refuseRedirects(real: string): void {
    if (!this.checkXattrs) return;
    for (const name of native.llistxattrSync(fsPath(real))) if (REDIRECT_OR_METACOPY.has(name)) throw new NeedsFullWalk(real, name);
  }
}
