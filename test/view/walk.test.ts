import * as fs from 'fs';
import * as path from 'path';
import { UnionView } from '../../lib/view';
import { whiteoutFormat, convertWhiteoutsSync } from '../../lib/whiteout';
import * as native from '../../lib/native';
import { buildOnce } from '../fixtures/tmp';

/**
 * The walk over a chain of 50,000 files: every entry, in order, once; then the same chain with
 * its whiteouts converted to the overlay format (where root and the addon allow).
 */

const canOverlay = process.getuid?.() === 0 && native.addonStatus().available;
if (!canOverlay) console.warn('view walk test: the overlay-format half is skipped (it needs root and the native addon)');

const DIRS = 500;
const FILES = 100;
const name = (prefix: string, i: number, width: number) => prefix + String(i).padStart(width, '0');
const touch = (p: string) => fs.closeSync(fs.openSync(p, 'w'));

let layers: string[];
/** The walk the chain must give, as paths in order. */
const expected: string[] = ['/'];

/**
 * Three oci layers: 50,000 files at the bottom; the middle one whitens out a tenth of them and
 * makes every fiftieth directory opaque; the top adds five files per directory and puts a file
 * over d007. Built once per machine (creating 50,000 files is the slow part).
 */
function buildChain(root: string): void {
  const oci = whiteoutFormat('oci');
  const [bottom, middle, top] = ['bottom', 'middle', 'top'].map((n) => path.join(root, n));
  for (let d = 0; d < DIRS; d++) {
    const dir = name('d', d, 3);
    fs.mkdirSync(path.join(bottom, dir), { recursive: true });
    for (let f = 0; f < FILES; f++) touch(path.join(bottom, dir, name('f', f, 2)));
    if (d === 7) {
      fs.mkdirSync(top, { recursive: true });
      touch(path.join(top, dir));
      continue;
    }
    fs.mkdirSync(path.join(middle, dir), { recursive: true });
    fs.mkdirSync(path.join(top, dir), { recursive: true });
    if (d % 50 === 0) {
      oci.markOpaqueSync(path.join(middle, dir));
      touch(path.join(middle, dir, 'f00'));
    } else {
      for (let f = 3; f < FILES; f += 10) oci.writeWhiteoutSync(path.join(middle, dir), name('f', f, 2));
    }
    for (let f = 0; f < 5; f++) touch(path.join(top, dir, name('n', f, 1)));
  }
}

for (let d = 0; d < DIRS; d++) {
  const dir = name('d', d, 3);
  expected.push(`/${dir}`);
  if (d === 7) continue;
  const kept: string[] = d % 50 === 0 ? ['f00'] : [];
  if (d % 50 !== 0) for (let f = 0; f < FILES; f++) if (f % 10 !== 3) kept.push(name('f', f, 2));
  for (let f = 0; f < 5; f++) kept.push(name('n', f, 1));
  expected.push(...kept.map((n) => `/${dir}/${n}`));
}

beforeAll(() => {
  const { dir } = buildOnce('view-walk-50k-v1', buildChain, { valid: (d) => fs.existsSync(path.join(d, 'bottom', 'd499', 'f99')) });
  layers = ['bottom', 'middle', 'top'].map((n) => path.join(dir, n));
});

function checkWalk(v: UnionView): void {
  const paths: string[] = [];
  for (const e of v.walkSync()) paths.push(e.path);
  expect(paths.length).toBe(expected.length);
  expect(paths).toEqual(expected);
}

test('oci: a walk over 50,000 files gives every visible entry once, depth first and sorted', async () => {
  const v = new UnionView(layers, 'oci');
  checkWalk(v);
  expect(v.lookupSync('/d007')).toMatchObject({ type: 'file', layer: 2 });
  expect(v.lookupSync('/d001/f03')).toBeNull();
  expect(v.lookupSync('/d001/f04')).toMatchObject({ layer: 0 });
  expect(v.dirLayersSync('/d050')).toEqual([2, 1]);
  let n = 0;
  for await (const e of v.walk('/d123')) if (e.type === 'file') n++;
  expect(n).toBe(95);
});

(canOverlay ? test : test.skip)('overlay: the same chain, with its middle layer converted, walks the same', () => {
  // only the middle layer has whiteouts or opaque directories: a converted copy of it, also built once
  const { dir } = buildOnce('view-walk-50k-overlay-middle-v1', (d) => {
    fs.cpSync(layers[1], path.join(d, 'middle'), { recursive: true });
    convertWhiteoutsSync(path.join(d, 'middle'), 'oci', 'overlay');
  });
  const middle = path.join(dir, 'middle');
  expect(fs.lstatSync(path.join(middle, 'd001', 'f03')).isCharacterDevice()).toBe(true);
  checkWalk(new UnionView([layers[0], middle, layers[2]], 'overlay'));
});
