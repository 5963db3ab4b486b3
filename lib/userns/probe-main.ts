import * as fs from 'fs';
import * as path from 'path';
import * as native from '../native';

/**
 * The behavioural probe, run inside a fresh holder's namespace (lib/userns/probe.ts). A mount
 * that succeeds proves little: without `userxattr` it "works" but cannot record opaque
 * directories. So: mount with userxattr, delete a lower file and a lower directory through the
 * merged directory, make the directory again, and check what overlayfs wrote in the upper
 * directory (a 0/0 character device, `user.overlay.opaque=y`) and what merged shows. Argument:
 * an empty directory on the store's filesystem. Prints `{ ok, reason? }`.
 */
function probe(dir: string): string | null {
  const d = (...n: string[]) => path.join(dir, ...n);
  for (const n of ['lower', 'lower/gone-dir', 'upper', 'work', 'merged']) fs.mkdirSync(d(n));
  fs.writeFileSync(d('lower', 'gone'), 'x');
  fs.writeFileSync(d('lower', 'gone-dir', 'child'), 'x');
  try {
    native.mountSync('layerfs', d('merged'), 'overlay', 0, `userxattr,lowerdir=${d('lower')},upperdir=${d('upper')},workdir=${d('work')}`);
  } catch (e) {
    return `mounting overlayfs with userxattr in the user namespace failed: ${(e as Error).message}`;
  }
  try {
    fs.unlinkSync(d('merged', 'gone'));
    fs.rmSync(d('merged', 'gone-dir'), { recursive: true });
    fs.mkdirSync(d('merged', 'gone-dir'));
    const wh = fs.lstatSync(d('upper', 'gone'), { throwIfNoEntry: false });
    if (!wh || !wh.isCharacterDevice() || wh.rdev !== 0) return 'deleting a lower file through the mount left no 0/0 whiteout device in the upper directory';
    if (fs.existsSync(d('merged', 'gone'))) return 'a deleted lower file still shows in the mount';
    if (native.lgetxattrSync(d('upper', 'gone-dir'), 'user.overlay.opaque')?.toString() !== 'y') return 'a directory made again over a deleted lower one has no user.overlay.opaque=y';
    if (fs.readdirSync(d('merged', 'gone-dir')).length) return 'an opaque directory still shows its lower children';
    return null;
  } finally {
    native.umount2Sync(d('merged'), native.constants.MNT_DETACH);
  }
}

try {
  const reason = probe(process.argv[2]!);
  process.stdout.write(JSON.stringify(reason === null ? { ok: true } : { ok: false, reason }));
} catch (e) {
  process.stdout.write(JSON.stringify({ ok: false, reason: (e as Error).message }));
}
