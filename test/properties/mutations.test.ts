import fc from 'fast-check';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';
import { stackArb } from './layer-gen';
import { withoutVoidWhiteouts } from './reference';
import { mutationArb } from './mutation-gen';
import { checkMutations } from './mutation-check';
import { features, propertyParams } from './run-config';
import { DRIVERS, overlaySkipNote } from './stores';

/**
 * Random container mutations on both drivers: on a generated chain of 1–3 layers, random edits
 * of the mounted container; its diff equals the true difference of the trees (read in full,
 * contents included), and commit → export → import into a fresh store → mount gives the edited
 * tree.
 */

overlaySkipNote('mutation property');

let work: string;
beforeAll(() => (work = makeTempDir('mutations')));
afterAll(() => removeTempDir(work));

const stack = stackArb({ recreate: features.recreate, childBeforeDir: features.childBeforeDir, duplicates: features.duplicates, root: features.root, nonUtf8: features.nonUtf8 }, 3);
const base = features.strictOverlayListing ? stack : stack.map(withoutVoidWhiteouts);
const edits = fc.array(mutationArb(features), { minLength: 1, maxLength: 8 });

describe.each(DRIVERS)('%s driver', (driver) => {
  it('random container mutations: the diff is the true difference, and commit, export, import and mount give the edited tree', async () => {
    await fc.assert(
      fc.asyncProperty(base, edits, (layers, muts) => checkMutations(work, driver, layers, muts)),
      propertyParams(`random container mutations, ${driver} driver`, 70),
    );
  }, 1_800_000);
});
