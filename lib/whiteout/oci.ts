import * as fs from 'fs';
import { OCI_OPAQUE_MARKER, ociWhiteoutName, ociWhiteoutTarget, joinName } from './names';
import type { WhiteoutFormat, Classified } from './types';

const OPAQUE: Classified = Object.freeze({ kind: 'opaque-marker' as const });

const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = fs.constants;

/** An empty marker file; a symlink of that name (a layer or container made it) is refused, never written through. */
function writeMarker(p: string | Buffer): void {
  fs.closeSync(fs.openSync(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o644));
}

function unlinkIfExists(p: string | Buffer): void {
  try {
    fs.unlinkSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** `.wh.NAME` empty files and `.wh..wh..opq` markers: the tar form, needing no privilege and no addon. */
export const ociFormat: WhiteoutFormat = {
  name: 'oci',
  reservedXattrPrefixes: [],
  writeWhiteoutSync(dir, name) {
    writeMarker(joinName(dir, ociWhiteoutName(name)));
  },
  markOpaqueSync(dir) {
    writeMarker(joinName(dir, OCI_OPAQUE_MARKER));
  },
  isOpaqueSync(dir) {
    try {
      return fs.lstatSync(joinName(dir, OCI_OPAQUE_MARKER), { throwIfNoEntry: false }) !== undefined;
    } catch {
      return false; // ENOTDIR: not a directory, so not opaque
    }
  },
  classify(name, st) {
    // most names are ordinary: decide on the first byte before anything else
    if (name.charCodeAt(0) !== 0x2e || !name.startsWith('.wh.')) return null;
    if (name === OCI_OPAQUE_MARKER) return OPAQUE;
    // a directory named `.wh.x` is not a whiteout (the tar side refuses such an entry)
    if (st.isDirectory()) return null;
    const target = ociWhiteoutTarget(name);
    return target === null ? null : { kind: 'whiteout', target };
  },
  removeWhiteoutSync(dir, name) {
    unlinkIfExists(joinName(dir, ociWhiteoutName(name)));
  },
};
