import * as fs from 'fs';
import * as native from '../native';
import { fsArg } from '../names';
import { joinName } from './names';
import type { WhiteoutFormat } from './types';

export type OverlayFormatName = 'overlay' | 'overlay-userxattr';

/** The xattr namespace overlayfs uses: `trusted.` normally, `user.` when mounted with `-o userxattr`. */
export function overlayXattrPrefix(name: OverlayFormatName): string {
  return name === 'overlay' ? 'trusted.overlay.' : 'user.overlay.';
}

export function opaqueXattr(name: OverlayFormatName): string {
  return overlayXattrPrefix(name) + 'opaque';
}

const isWhiteoutStat = (st: fs.Stats | fs.BigIntStats) => st.isCharacterDevice() && Number(st.rdev) === 0;

const errCode = (e: unknown) => (e as NodeJS.ErrnoException).code;

/**
 * overlayfs's own form: a whiteout is a character device 0/0 named NAME, an opaque directory has
 * `<ns>.overlay.opaque` = `y`. (With userxattr, overlayfs also reads a zero-size file carrying
 * `user.overlay.whiteout`; layerfs writes the 0/0 device, which both mount modes understand.)
 */
export function overlayFormat(name: OverlayFormatName): WhiteoutFormat {
  const opaque = opaqueXattr(name);
  const fmt: WhiteoutFormat = {
    name,
    reservedXattrPrefixes: [overlayXattrPrefix(name)],
    writeWhiteoutSync(dir, n) {
      const p = joinName(dir, n);
      try {
        native.mknodSync(p, fs.constants.S_IFCHR, 0, 0);
      } catch (e) {
        if (errCode(e) !== 'EEXIST') throw e;
        // the whiteout would take the name of an entry of this layer, which survives it
        if (fs.lstatSync(p).isDirectory()) fmt.markOpaqueSync(p);
      }
    },
    markOpaqueSync(dir) {
      native.lsetxattrSync(fsArg(dir), opaque, Buffer.from('y'));
    },
    isOpaqueSync(dir) {
      let v: Buffer | null;
      try {
        v = native.lgetxattrSync(fsArg(dir), opaque);
      } catch (e) {
        const code = errCode(e);
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return false;
        throw e;
      }
      // overlayfs reads 'y' as opaque; 'x' (a directory holding xattr whiteouts) is not opaque
      return v !== null && v.length === 1 && v[0] === 0x79;
    },
    classify(n, st) {
      return isWhiteoutStat(st) ? { kind: 'whiteout', target: n } : null;
    },
    removeWhiteoutSync(dir, n) {
      const p = joinName(dir, n);
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (st && isWhiteoutStat(st)) fs.unlinkSync(p);
    },
  };
  return fmt;
}
