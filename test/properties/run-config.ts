import fc from 'fast-check';

/**
 * How many cases the properties run, from which seed, and which generator features are on.
 *
 * - `LAYERFS_PROPERTY_RUNS=N` runs N cases per property instead of the CI default.
 * - `LAYERFS_PROPERTY_SEED=S` (and `LAYERFS_PROPERTY_PATH=P`, from a failure report) replays a run.
 * - `LAYERFS_PROPERTY_FEATURES=name,-name,all` turns generator features on or off.
 *
 * A feature is off by default while the bug class it finds is known and being fixed elsewhere
 * (so that main stays green); it is turned on when the fix lands.
 */

export interface Feature {
  on: boolean;
  /** why it is off, and what a failure with it on means */
  why?: string;
}

export const FEATURES = {
  /** a whiteout of NAME, and NAME (or something under it) again, in one layer */
  recreate: { on: true, why: 'issue 12 "a whiteout, then the same name re-created as a directory, in one layer": the formats differed, and a child before the .wh. took the lower directory\'s xattrs (fixed: lib/tar/apply-entries.ts)' },
  /** a `./` entry with its own metadata, and the root's metadata compared with the reference */
  root: { on: true, why: 'issue 12 "the root directory of a layer takes the process\'s umask, its owner and the current time" (fixed: lib/tar/layer-root.ts)' },
  /** names with bytes that are not UTF-8 */
  nonUtf8: { on: true, why: 'issue 12 "non-UTF-8 file names": importing such a layer failed with ENOENT (fixed by lib/names)' },
  /** a global pax header that carries a path, first in the tar */
  globalPax: { on: true, why: 'issue 12 "global PAX headers": a global header that carried a path refused the layer (fixed: lib/tar/reader.ts)' },
  /** container mutations that keep size and mtime (cp -p, utimes restored) */
  sameSizeMtime: { on: true, why: 'issue 12 "silent data loss": a same-size same-mtime change was not in the diff (fixed: diff compares contents)' },
  /** container files named `.wh.*` */
  whiteoutNames: { on: true, why: 'issue 12 "names that mean a whiteout": committed as plain entries (fixed: the commit is refused)' },
  /** a change of the container's root directory itself (chmod, chown, xattr) */
  rootChange: { on: true, why: 'issue 12 "a change of / in a container is committed": commit dropped it (fixed: a ./ entry)' },
  /** a second non-directory entry for a path in one layer (appended tars): the later wins */
  duplicates: { on: true },
  /**
   * Found by this suite (not yet in an issue): a directory's entry after its children in the tar.
   * The directory made for the first child took the lower directory's xattrs, and the entry's
   * own xattrs are added to them, so the merged directory keeps xattrs its entry does not have;
   * with the entry first it has only its own. Fixed: the entry is the directory's metadata.
   */
  childBeforeDir: { on: true, why: 'found by this suite: a directory entry after its children kept the lower directory\'s xattrs (fixed: lib/tar/apply-entries.ts)' },
  /**
   * Found by this suite (not yet in an issue): an overlay-format layer keeps a whiteout device
   * for a name nothing below it has; in a directory only that layer has, a mounted overlay
   * lists the name but lstat gives ENOENT. Fixed: the applier keeps no whiteout that hides nothing.
   */
  strictOverlayListing: { on: true, why: 'found by this suite: an overlay mount listed whiteouts of names nothing lower has (a/.wh.a in a new directory a; fixed: lib/tar/apply-entries.ts drops them)' },
} satisfies Record<string, Feature>;

export type FeatureName = keyof typeof FEATURES;

function parseFeatures(spec: string | undefined): Record<FeatureName, boolean> {
  const out = Object.fromEntries(Object.entries(FEATURES).map(([k, f]) => [k, f.on])) as Record<FeatureName, boolean>;
  for (const raw of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const off = raw.startsWith('-');
    const name = off ? raw.slice(1) : raw;
    if (name === 'all') for (const k of Object.keys(out) as FeatureName[]) out[k] = !off;
    else if (name in out) out[name as FeatureName] = !off;
    else throw new Error(`LAYERFS_PROPERTY_FEATURES: no feature ${JSON.stringify(name)} (known: ${Object.keys(out).join(', ')})`);
  }
  return out;
}

export const features = parseFeatures(process.env.LAYERFS_PROPERTY_FEATURES);

export function featureNote(): string {
  const off = (Object.keys(features) as FeatureName[]).filter((k) => !features[k]);
  return off.length ? `features off (known bug classes): ${off.join(', ')}` : 'all features on';
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`${name}: not an integer: ${JSON.stringify(v)}`);
  return n;
}

/** One seed for the whole file run, printed, so that a failure can be replayed. */
const seed = envInt('LAYERFS_PROPERTY_SEED') ?? (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
const runsOverride = envInt('LAYERFS_PROPERTY_RUNS');

/** fast-check parameters for one property, said on the console (seed, runs, features). */
export function propertyParams<T>(name: string, ciRuns: number): fc.Parameters<T> {
  const numRuns = runsOverride ?? ciRuns;
  const replayPath = process.env.LAYERFS_PROPERTY_PATH;
  console.log(`property ${JSON.stringify(name)}: seed ${seed}, ${numRuns} runs; ${featureNote()} (replay with LAYERFS_PROPERTY_SEED=${seed})`);
  return { seed, numRuns, ...(replayPath ? { path: replayPath } : {}), endOnFailure: process.env.LAYERFS_PROPERTY_NO_SHRINK === '1' };
}
