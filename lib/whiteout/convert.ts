import * as fs from 'fs';
import * as native from '../native';
import { UnsupportedError } from '../errors';
import type { WhiteoutFormatName } from '../types';
import { OCI_OPAQUE_MARKER, joinName } from './names';
import { opaqueXattr } from './overlay';
import { whiteoutFormat } from './registry';
import type { WhiteoutFormat } from './types';

interface Plan {
  /** directories carrying `from`'s opaque marking (any value of the overlay xattr), and whether it meant opaque */
  opaques: Array<{ dir: Buffer; opaque: boolean }>;
  whiteouts: Array<{ dir: Buffer; target: Buffer }>;
}

/**
 * Rewrites the whiteouts and opaque markings of a layer directory from one format to another, in
 * place; the union the layer stands for is unchanged. It plans first and changes nothing when the
 * layer cannot be written in `to` (an ordinary entry that `to` would read as a whiteout or opaque
 * marker: a `.wh.x` file going to oci, a 0/0 character device going to overlay).
 */
export function convertWhiteoutsSync(dir: string, from: WhiteoutFormatName, to: WhiteoutFormatName): void {
  const f = whiteoutFormat(from);
  const t = whiteoutFormat(to);
  if (from === to) return;
  const plan = planConversion(Buffer.from(dir), f, t);
  for (const o of plan.opaques) {
    unmarkOpaqueSync(f, o.dir);
    if (o.opaque) t.markOpaqueSync(o.dir);
  }
  // both overlay formats write the same 0/0 device: only the opaque xattr differs between them
  if (from !== 'oci' && to !== 'oci') return;
  // all removals first: a new whiteout may take the name an old one still holds (`.wh..wh.x` -> `.wh.x`)
  for (const w of plan.whiteouts) f.removeWhiteoutSync(w.dir, w.target);
  for (const w of plan.whiteouts) t.writeWhiteoutSync(w.dir, w.target);
}

/** One walk of the layer with sync calls on Buffer paths (names need not be UTF-8). */
function planConversion(root: Buffer, f: WhiteoutFormat, t: WhiteoutFormat): Plan {
  const plan: Plan = { opaques: [], whiteouts: [] };
  const visit = (dir: Buffer) => {
    const marking = opaqueMarking(f, dir);
    if (marking !== null) plan.opaques.push({ dir, opaque: marking });
    for (const raw of fs.readdirSync(dir, { encoding: 'buffer' })) {
      const p = joinName(dir, raw) as Buffer;
      const st = fs.lstatSync(p);
      // latin1 keeps one char per byte, so the `.wh.` prefix test and the target's bytes survive
      const name = raw.toString('latin1');
      const c = f.classify(name, st);
      if (c?.kind === 'whiteout') plan.whiteouts.push({ dir, target: Buffer.from(c.target, 'latin1') });
      else if (c === null) {
        if (t.classify(name, st) !== null) {
          throw new UnsupportedError(
            `cannot convert the whiteouts of layer ${root.toString()} from ${f.name} to ${t.name}: ${p.toString()} is an ordinary entry that ${t.name} would read as a ${t.name === 'oci' ? 'whiteout or opaque marker' : 'whiteout'}`,
          );
        }
        if (st.isDirectory()) visit(p);
      }
    }
  };
  visit(root);
  return plan;
}

/** Whether `dir` carries `f`'s opaque marking: null when not, else whether it means opaque. */
function opaqueMarking(f: WhiteoutFormat, dir: Buffer): boolean | null {
  if (f.name === 'oci') return f.isOpaqueSync(dir) ? true : null;
  const v = native.lgetxattrSync(dir, opaqueXattr(f.name));
  return v === null ? null : f.isOpaqueSync(dir);
}

function unmarkOpaqueSync(f: WhiteoutFormat, dir: Buffer): void {
  if (f.name === 'oci') fs.unlinkSync(joinName(dir, OCI_OPAQUE_MARKER));
  else native.lremovexattrSync(dir, opaqueXattr(f.name));
}
