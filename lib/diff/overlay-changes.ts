import * as fs from 'fs';
import * as path from 'path';
import * as native from '../native';
import { UnionView } from '../view';
import { whiteoutFormat } from '../whiteout';
import type { WhiteoutFormatName } from '../store/types';
import type { Change } from './types';
import { byPath, changeOf, differences, joinPath } from './compare';
import { diffTrees } from './trees';

const UNSAFE_XATTRS = ['trusted.overlay.redirect', 'trusted.overlay.metacopy', 'user.overlay.redirect', 'user.overlay.metacopy'];

class NeedsFullWalk extends Error {}

/**
 * The changes of an overlay container from its upperdir alone: each upper entry is looked up
 * in the lower chain, so the cost follows the size of the change, not of the root. Copied-up
 * entries that did not change are not reported; an opaque directory reports the lower children
 * it hides; a whiteout of something no lower layer has is not reported. Redirect or metacopy
 * xattrs mean the upperdir alone does not tell the truth: then the merged tree is compared
 * with the lower one in full.
 */
export function overlayChanges(upperDir: string, lowerView: UnionView, whiteout: WhiteoutFormatName): Change[] {
  try {
    const out: Change[] = [];
    walkUpper(upperDir, '/', lowerView, whiteoutFormat(whiteout), out, false);
    return out.sort(byPath);
  } catch (e) {
    if (!(e instanceof NeedsFullWalk)) throw e;
    const merged = new UnionView([...lowerView.layerDirs, upperDir], whiteout);
    return diffTrees(lowerView, merged);
  }
}

function checkUnsafe(real: string): void {
  if (!native.addonStatus().available) return;
  for (const name of native.llistxattrSync(real)) if (UNSAFE_XATTRS.includes(name)) throw new NeedsFullWalk();
}

function walkUpper(dirReal: string, dir: string, lower: UnionView, fmt: ReturnType<typeof whiteoutFormat>, out: Change[], lowerHidden: boolean): void {
  const names = fs.readdirSync(dirReal).sort();
  for (const name of names) {
    const real = path.join(dirReal, name);
    const st = fs.lstatSync(real);
    const p = joinPath(dir, name);
    const c = fmt.classify(name, st);
    if (c?.kind === 'opaque-marker') continue;
    if (c?.kind === 'whiteout') {
      const gone = lowerHidden ? null : lower.lookupSync(joinPath(dir, c.target));
      if (gone) out.push(changeOf('D', gone.path, { real: gone.realPath, st: gone.stat }));
      continue;
    }
    checkUnsafe(real);
    const below = lowerHidden ? null : lower.lookupSync(p);
    const side = { real, st };
    if (!below) {
      out.push(changeOf('A', p, side));
      if (st.isDirectory()) walkUpper(real, p, lower, fmt, out, true);
      continue;
    }
    if (st.isDirectory() && below.type === 'dir') {
      const opaque = fmt.isOpaqueSync(real);
      const what = differences({ real: below.realPath, st: below.stat }, side);
      if (opaque) {
        out.push(changeOf('C', p, side, { what: [...what, 'recreated'], opaque: true }));
        const mine = new Set(fs.readdirSync(real));
        for (const child of lower.readdirSync(p)) {
          if (mine.has(child)) continue;
          const e = lower.lookupSync(joinPath(p, child))!;
          out.push(changeOf('D', e.path, { real: e.realPath, st: e.stat }));
        }
      } else if (what.length) out.push(changeOf('C', p, side, { what }));
      // under an opaque directory the lower children are hidden, but a same-named one is still a change
      walkUpper(real, p, lower, fmt, out, false);
      continue;
    }
    const what = differences({ real: below.realPath, st: below.stat }, side);
    if (what.length) out.push(changeOf('C', p, side, { what }));
    if (st.isDirectory()) walkUpper(real, p, lower, fmt, out, true);
  }
}
