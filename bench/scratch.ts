/**
 * The run's scratch directory (stores, unpack targets, peers' storage). By default a fresh
 * journaled ext4 on a loop device, made for the run and thrown away after it: on a filesystem
 * without a journal, ext4 skips inodes freed in the last minute or more when it allocates new
 * ones (recently_deleted()), so every create after a large delete scans those inode tables and
 * a measurement that follows a deletion runs several times slower than the same one a minute
 * later. A fresh journaled filesystem gives every subject the same conditions.
 */
import * as fs from 'fs';
import { spawnSync } from 'child_process';
import { removeTree, sh, why } from './common';

export interface Scratch {
  dir: string;
  /** what the scratch directory is, for the report */
  kind: string;
  destroy(): void;
}

function hostKind(dir: string, why?: string): string {
  let fsType = 'unknown';
  try {
    fsType = sh(`findmnt -n -o FSTYPE,OPTIONS --target ${dir}`).trim().replace(/\s+/, ' (') + ')';
  } catch {
    /* findmnt missing */
  }
  return `a directory on the host's filesystem, ${fsType}${why ? ` (${why})` : ''}`;
}

export function makeScratch(dir: string, sizeBytes: number, onHost: boolean): Scratch {
  const img = `${dir}.ext4`;
  const plain = (reason?: string): Scratch => {
    fs.mkdirSync(dir, { recursive: true });
    return { dir, kind: hostKind(dir, reason), destroy: () => removeTree(dir) };
  };
  removeTree(dir);
  fs.rmSync(img, { force: true });
  if (onHost) return plain('asked for with --scratch-host');
  if (process.getuid?.() !== 0) return plain('loop mounts need root');
  if (spawnSync('bash', ['-c', 'command -v mkfs.ext4'], { stdio: 'ignore' }).status !== 0) return plain('mkfs.ext4 is not installed');
  try {
    fs.mkdirSync(dir, { recursive: true });
    // sparse: only what the run writes takes space; noinit_itable: no background zeroing thread during the run
    sh(`truncate -s ${sizeBytes} ${img} && mkfs.ext4 -q -F ${img} && mount -o loop,noinit_itable ${img} ${dir}`);
  } catch (e) {
    removeTree(dir);
    fs.rmSync(img, { force: true });
    return plain(`no loop-mounted ext4: ${why(e)}`);
  }
  return {
    dir,
    kind: `a fresh ext4 (journaled, ${(sizeBytes / 2 ** 30).toFixed(0)} GiB sparse image on a loop device) made for the run; the data is read from the host's ${hostKind(img).replace(/^a directory on the host's filesystem, /, '')}`,
    destroy() {
      removeTree(dir); // unmounts the scratch filesystem (and anything mounted inside it) first
      fs.rmSync(img, { force: true });
    },
  };
}
