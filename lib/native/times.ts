import * as fs from 'fs';
import { hasLutimens, lutimensSync, type PathArg } from './index';

/**
 * A time for Node's utimes/lutimes, which take seconds as a double: libuv splits the double into
 * seconds and nanoseconds and cuts the nanoseconds to whole microseconds. A double near 1.8e9 s
 * is exact to about 0.2 µs only, so `ns / 1e9` can land just below its microsecond and be cut to
 * the one before. Half a microsecond on top makes the cut land on the source's microsecond (the
 * nanoseconds below it are lost all the same: Node has no way to set them).
 */
export function utimeSeconds(ns: bigint): number {
  const us = ns / 1000n;
  return Number(us / 1_000_000n) + (Number(us % 1_000_000n) + 0.5) / 1e6;
}

/**
 * Sets the times of the path itself (never following a final symlink) to the nanosecond where
 * the addon has lutimens (utimensat), else to the microsecond (Node's lutimes). Strings are
 * passed as they are: callers with name strings (lib/names) pass fsPath(p).
 */
export function setTimesSync(p: PathArg, atimeNs: bigint, mtimeNs: bigint): void {
  if (hasLutimens()) lutimensSync(p, atimeNs, mtimeNs);
  else fs.lutimesSync(p, utimeSeconds(atimeNs), utimeSeconds(mtimeNs));
}
