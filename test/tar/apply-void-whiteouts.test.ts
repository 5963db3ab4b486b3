/**
 * A whiteout that hides nothing of the layer's chain is not kept in the overlay formats: a 0/0
 * device in a directory that no lower layer shares is listed by overlayfs as a name that lstat
 * cannot find (`ls` shows it, `cp -a` and `mv` of the directory fail on it). Found by the property
 * suite (feature strictOverlayListing, seed 1605286210). The oci format keeps its `.wh.` files.
 */
import * as fs from 'fs';
import * as path from 'path';
import { applyLayer } from '../../lib/tar/apply-in-worker';
import { addonStatus, lgetxattrSync } from '../../lib/native';
import { UnionView } from '../../lib/view';
import { whiteoutFormat } from '../../lib/whiteout';
import { rawTar, Sandbox } from '../fixtures/hostile-tar';

const canOverlay = process.getuid?.() === 0 && addonStatus().available;
if (!canOverlay) console.warn('void whiteouts: skipped: overlay whiteouts are 0/0 devices, which need root and the native addon');
const dist = path.resolve(__dirname, '../../dist/lib/tar/apply.worker.js');
beforeAll(() => {
  if (!fs.existsSync(dist)) throw new Error(`${dist} is missing: build with \`npx tsc -p tsconfig.json\` first`);
});

let sb: Sandbox;
beforeEach(() => (sb = new Sandbox('apply-void-wh', ['lower', 'in'])));
afterEach(() => sb.remove());

/** The chain below: keep, d/keep, op/old. */
function makeLower(): string {
  const lower = path.join(sb.work, 'lower');
  fs.mkdirSync(path.join(lower, 'd'), { recursive: true });
  fs.mkdirSync(path.join(lower, 'op'));
  for (const f of ['keep', 'd/keep', 'op/old']) fs.writeFileSync(path.join(lower, f), f);
  return lower;
}

const layer = rawTar([
  { name: '.wh.keep', body: '' }, // hides a lower file: kept
  { name: 'd/.wh.keep', body: '' }, // kept
  { name: 'd/.wh.never', body: '' }, // nothing lower has d/never
  { name: 'new/.wh.x', body: '' }, // a directory only this layer has
  { name: 'op/.wh..wh..opq', body: '' },
  { name: 'op/.wh.old', body: '' }, // its directory is opaque already
  { name: '.wh.gone', body: '' }, // the whole name, then made again with a whiteout in it
  { name: 'gone/.wh.y', body: '' },
]);

/** The whiteouts of `dir`, by path. */
function whiteouts(dir: string): string[] {
  const fmt = whiteoutFormat('overlay');
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const n of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const st = fs.lstatSync(path.join(dir, r));
      if (fmt.classify(n, st)?.kind === 'whiteout') out.push(r);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

const describeIf = canOverlay ? describe : describe.skip;
describeIf('overlay format', () => {
  test('only the whiteouts that hide a name of the chain below are kept, the chain given at once or late', async () => {
    const lower = makeLower();
    const tar = sb.file('in', layer);
    await applyLayer(tar, sb.target, { whiteout: 'overlay', lowerDirs: [lower] });
    expect(whiteouts(sb.target)).toEqual(['d/keep', 'keep']);
    // the directories stay, only their void whiteouts go
    expect(['d', 'new', 'op', 'gone'].map((d) => fs.lstatSync(path.join(sb.target, d)).isDirectory())).toEqual([true, true, true, true]);
    const hidden = () => {
      // op/.wh.old went because op is opaque: its marker is there, and the chain's op/old stays hidden
      expect(lgetxattrSync(path.join(sb.target, 'op'), 'trusted.overlay.opaque')?.toString()).toBe('y');
      const view = new UnionView([lower, sb.target], 'overlay');
      expect(['/', '/d', '/op'].map((d) => view.readdirSync(d))).toEqual([['d', 'gone', 'new', 'op'], [], []]);
    };
    hidden();
    sb.reset();
    await applyLayer(tar, sb.target, { whiteout: 'overlay', lowerDirs: async () => [lower] });
    expect(whiteouts(sb.target)).toEqual(['d/keep', 'keep']);
    hidden();
    sb.expectVictimUntouched();
  });

  test('a bottom layer (an empty chain) keeps no whiteout; with no chain given (a tarball seen alone) every one is kept', async () => {
    const tar = sb.file('in', layer);
    await applyLayer(tar, sb.target, { whiteout: 'overlay', lowerDirs: [] });
    expect(whiteouts(sb.target)).toEqual([]);
    sb.reset();
    await applyLayer(tar, sb.target, { whiteout: 'overlay' });
    expect(whiteouts(sb.target)).toEqual(['d/keep', 'd/never', 'gone/y', 'keep', 'new/x', 'op/old']);
  });
});
